package txpipe.consumer.internal

import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.Files
import java.util.Properties

import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.StreamsConfig
import org.apache.kafka.streams.processor.TaskId
import org.apache.kafka.streams.processor.api.MockProcessorContext
import org.scalatest.funsuite.AnyFunSuite

class FilteredRocksDbStoreSpec extends AnyFunSuite {

  private def key(i: Int): Bytes = Bytes.wrap(s"tx-$i\u0000ACC-${i % 20}".getBytes(UTF_8))

  test("finds every key it holds, in the memtable or in flushed files, and nothing else") {
    val dir = Files.createTempDirectory("filtered-rocksdb")
    val props = new Properties()
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "filtered-rocksdb-spec")
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1")
    props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString)
    props.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, classOf[BoundedRocksDb])
    val context = new MockProcessorContext[String, String](props, new TaskId(0, 0), dir.toFile)
    val store = new FilteredRocksDbStore("seen")
    store.init(context.getStateStoreContext, store)
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
}
