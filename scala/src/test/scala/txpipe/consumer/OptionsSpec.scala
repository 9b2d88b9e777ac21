package txpipe.consumer

import org.apache.kafka.streams.StreamsConfig
import org.scalatest.funsuite.AnyFunSuite

class OptionsSpec extends AnyFunSuite {

  private val required = Seq("-b", "127.0.0.1:9092", "-s", "http://127.0.0.1:8081", "-t", "tx", "-g", "grp")

  test("short flags and defaults") {
    val o = Options.parse(required).fold(c => fail(s"exit $c"), identity)
    assert(o == Options("127.0.0.1:9092", "http://127.0.0.1:8081", "tx", "grp"))
    val config = Main.streamsConfig(o, 6)
    assert(config.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG) == 1000L)
    assert(config.get("producer.linger.ms") == 5)
    assert(config.get("producer.retry.backoff.ms") == 10)
    assert(config.get("consumer.max.poll.records") == 5000)
    assert(config.get(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG) == -1L)
    assert(config.get("producer.batch.size") == 256 * 1024)
    assert(config.get("main.consumer.fetch.max.wait.ms") == 100)
    assert(config.get("restore.consumer.fetch.max.wait.ms") == 100)
    assert(o.processingGuarantee == "exactly_once_v2" && o.partitions == 6 && o.replicationFactor == 1 && o.topicWaitSeconds == 300)
  }

  test("long flags") {
    val o = Options.parse(Seq("--bootstrap-servers", "k:1", "--schema-registry", "http://r/apis/ccompat/v7", "--topic", "t",
      "--group", "g", "--state-dir", "/tmp/s", "--processing-guarantee", "at_least_once", "--commit-interval-ms", "250",
      "--partitions", "3", "--replication-factor", "2", "--topic-wait-seconds", "5")).fold(c => fail(s"exit $c"), identity)
    assert(o == Options("k:1", "http://r/apis/ccompat/v7", "t", "g", Some("/tmp/s"), "at_least_once", 250L, 3, 2, 5))
    val config = Main.streamsConfig(o, 6)
    assert(config.get(StreamsConfig.APPLICATION_ID_CONFIG) == "g")
    assert(config.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG) == "at_least_once")
    assert(config.get(StreamsConfig.STATE_DIR_CONFIG) == "/tmp/s")
    assert(config.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG) == 250L)
    assert(config.get(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG) == classOf[txpipe.consumer.internal.BoundedRocksDb])
    new StreamsConfig(config) // accepted by Kafka's own validation
  }

  test("bad flags exit 2, help exits 0") {
    assert(Options.parse(Seq("--nope")) == Left(2))
    assert(Options.parse(required.take(6)) == Left(2)) // no group
    assert(Options.parse(required ++ Seq("--processing-guarantee", "exactly_once")) == Left(2))
    assert(Options.parse(required ++ Seq("--partitions", "x")) == Left(2))
    assert(Options.parse(Seq("-h")) == Left(0))
  }

  test("the producer's batches shrink for wide topics, so one per partition written fits in half its buffer") {
    assert(Main.producerBatchBytes(6) == 256 * 1024)
    assert(Main.producerBatchBytes(64) == (16 << 20) / (5 * 64))
    assert(Main.producerBatchBytes(64) * 5 * 64 <= (32 << 20) / 2)
    assert(Main.producerBatchBytes(10000) == 16 * 1024, "never below Kafka's default")
  }

  test("-X overrides the batch size") {
    val o = Options.parse(Seq("-b", "k:1", "-s", "http://r", "-t", "t", "-g", "g", "-X", "producer.batch.size=32768"))
      .fold(c => fail(s"exit $c"), identity)
    assert(Main.streamsConfig(o, 6).get("producer.batch.size") == "32768")
  }
}
