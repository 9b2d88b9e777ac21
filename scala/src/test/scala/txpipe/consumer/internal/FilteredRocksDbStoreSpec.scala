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
import org.scalatest.funsuite.AnyFunSuite

class FilteredRocksDbStoreSpec extends AnyFunSuite {

  private def key(i: Int): Bytes = Bytes.wrap(s"tx-$i\u0000ACC-${i % 20}".getBytes(UTF_8))

  // A store context that keeps the restore callback Kafka's store registers, so a test can
  // restore through Kafka's own code path.
  private final class Opened(dir: Path) {
    private val props = new Properties()
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "filtered-rocksdb-spec")
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1")
    props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString)
    props.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, classOf[BoundedRocksDb])
    private val mock = new MockProcessorContext[String, String](props, new TaskId(0, 0), dir.toFile).getStateStoreContext
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
    val store = new Opened(Files.createTempDirectory("filtered-rocksdb")).store
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
    val dir = Files.createTempDirectory("filtered-rocksdb")
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
    val opened = new Opened(Files.createTempDirectory("filtered-rocksdb"))
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
}
