package txpipe.consumer.internal

import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.{Files, Path}
import java.util.Properties

import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.consumer.ConsumerRecord
import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.StreamsConfig
import org.apache.kafka.streams.processor.{CommitCallback, StateRestoreCallback, StateStore, StateStoreContext, TaskId}
import org.apache.kafka.streams.processor.api.MockProcessorContext
import org.apache.kafka.streams.processor.internals.RecordBatchingStateRestoreCallback
import org.scalatest.BeforeAndAfterAll
import txpipe.consumer.TempDirs
import org.scalatest.funsuite.AnyFunSuite

class FilteredRocksDbStoreSpec extends AnyFunSuite with BeforeAndAfterAll {

  private val dirs = scala.collection.mutable.ArrayBuffer.empty[Path]
  private def tempDir(): Path = { val d = Files.createTempDirectory("filtered-rocksdb"); dirs += d; d }
  override def afterAll(): Unit = dirs.foreach(TempDirs.delete)

  private def key(i: Int): Bytes = Bytes.wrap(s"tx-$i\u0000ACC-${i % 20}".getBytes(UTF_8))

  // A store context that keeps the restore callback Kafka's store registers, so a test can
  // restore through Kafka's own code path.
  private final class Opened(dir: Path) {
    private val props = new Properties()
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "filtered-rocksdb-spec")
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1")
    props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString)
    props.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, classOf[BoundedRocksDb])
    val processor = new MockProcessorContext[String, String](props, new TaskId(0, 0), dir.toFile)
    private val mock = processor.getStateStoreContext
    var restore: StateRestoreCallback = _
    private val context = new StateStoreContext {
      override def applicationId() = mock.applicationId()
      override def taskId() = mock.taskId()
      override def recordMetadata() = mock.recordMetadata()
      override def keySerde() = mock.keySerde()
      override def valueSerde() = mock.valueSerde()
      override def stateDir() = mock.stateDir()
      override def metrics() = mock.metrics()
      override def register(s: StateStore, cb: StateRestoreCallback): Unit = { restore = cb; mock.register(s, cb) }
      override def register(s: StateStore, cb: StateRestoreCallback, c: CommitCallback): Unit = { restore = cb; mock.register(s, cb, c) }
      override def appConfigs() = mock.appConfigs()
      override def appConfigsWithPrefix(prefix: String) = mock.appConfigsWithPrefix(prefix)
    }
    val store = new FilteredRocksDbStore("seen")
    store.init(context, store)
  }

  test("finds every key it holds, in the memtable or in flushed files, and nothing else") {
    val store = new Opened(tempDir()).store
    try {
      // Two flushed files and a memtable: the filter check must rule out only absent keys.
      (0 until 20000).foreach(i => store.put(key(i), Array(i.toByte)))
      store.flush()
      (20000 until 40000).foreach(i => store.put(key(i), Array(i.toByte)))
      store.flush()
      (40000 until 45000).foreach(i => store.put(key(i), Array(i.toByte)))
      val missing = (0 until 45000).filter(i => store.get(key(i)) == null)
      assert(missing.isEmpty, s"${missing.size} stored keys not found, first ${missing.take(5)}")
      assert(store.get(key(12345)).sameElements(Array(12345.toByte)))
      val phantom = (45000 until 60000).filter(i => store.get(key(i)) != null)
      assert(phantom.isEmpty, s"${phantom.size} absent keys found")
    } finally store.close()
    assert(!store.isOpen)
    assert(intercept[Exception](store.get(key(1))).getMessage.contains("closed"))
  }

  test("a put is visible at once, to lookups and scans, and survives a flush, a close and a reopen") {
    val dir = tempDir()
    val first = new Opened(dir).store
    try {
      first.put(key(1), Array[Byte](1))
      assert(first.get(key(1)).sameElements(Array[Byte](1)), "a buffered put is found before any flush")
      assert(first.putIfAbsent(key(1), Array[Byte](9)).sameElements(Array[Byte](1)), "and is not overwritten by putIfAbsent")
      first.put(key(2), Array[Byte](2))
      assert(first.all().asScala.map(_.key).toSet == Set(key(1), key(2)), "a scan sees buffered puts")
      assert(first.delete(key(2)).sameElements(Array[Byte](2)))
      assert(first.get(key(2)) == null, "a deleted buffered put is gone")
      first.put(key(3), Array[Byte](3))
      first.put(key(3), null)
      assert(first.get(key(3)) == null, "a null put deletes")
      first.flush()
      first.put(key(4), Array[Byte](4)) // written by close, not by a flush
    } finally first.close()
    val again = new Opened(dir).store
    try {
      assert(again.get(key(1)).sameElements(Array[Byte](1)))
      assert(again.get(key(4)).sameElements(Array[Byte](4)))
      assert(again.get(key(2)) == null && again.get(key(3)) == null)
    } finally again.close()
  }

  test("keys restored from the changelog are found, even beyond the greatest key looked up before") {
    val opened = new Opened(tempDir())
    val store = opened.store
    try {
      store.put(key(100), Array[Byte](1))
      assert(store.get(key(200)) == null) // the store now knows its greatest key: tx-100
      // "tx-300" sorts after "tx-100": a lookup that trusted the old greatest key would miss it.
      val records = Seq(key(300), key(99)).zipWithIndex.map { case (k, i) =>
        new ConsumerRecord[Array[Byte], Array[Byte]]("seen-changelog", 0, i.toLong, k.get, Array[Byte](7))
      }
      opened.restore.asInstanceOf[RecordBatchingStateRestoreCallback].restoreBatch(records.asJava)
      assert(store.get(key(300)).sameElements(Array[Byte](7)))
      assert(store.get(key(99)).sameElements(Array[Byte](7)))
      assert(store.get(key(100)).sameElements(Array[Byte](1)))
      assert(store.get(key(400)) == null)
    } finally store.close()
  }

  test("a key put twice before a write keeps its last value, and the position is each partition's latest input offset") {
    val opened = new Opened(tempDir())
    val store = opened.store
    try {
      opened.processor.setRecordMetadata("in", 2, 10L)
      store.put(key(5), Array[Byte](1))
      store.put(key(6), Array[Byte](2))
      opened.processor.setRecordMetadata("in", 2, 11L)
      store.put(key(5), Array[Byte](3))
      assert(store.get(key(5)).sameElements(Array[Byte](3)), "the later of two pending puts")
      store.put(key(5), Array[Byte](4))
      assert(store.get(key(5)).sameElements(Array[Byte](4)), "a put after the pending puts were looked up")
      assert(store.getPosition.getPartitionPositions("in").asScala.toMap == Map(Int.box(2) -> Long.box(11L)))
      store.flush()
      assert(store.get(key(5)).sameElements(Array[Byte](4)), "the last value is the one written")
      assert(store.get(key(6)).sameElements(Array[Byte](2)))
      opened.processor.setRecordMetadata("in", 3, 7L)
      store.put(key(7), Array[Byte](7))
      opened.processor.setRecordMetadata("in", 2, 12L)
      store.put(key(8), Array[Byte](8))
      assert(store.getPosition.getPartitionPositions("in").asScala.toMap == Map(Int.box(2) -> Long.box(12L), Int.box(3) -> Long.box(7L)))
    } finally store.close()
  }
}
