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
    assert(o.processingGuarantee == "exactly_once_v2" && o.partitions == 6 && o.replicationFactor.isEmpty &&
      o.topicWaitSeconds == 300)
  }

  test("long flags") {
    val o = Options.parse(Seq(
      "--bootstrap-servers", "k:1", "--schema-registry", "http://r/apis/ccompat/v7", "--topic", "t",
      "--group", "g", "--state-dir", "/tmp/s", "--processing-guarantee", "at_least_once", "--commit-interval-ms", "250",
      "--partitions", "3", "--replication-factor", "2", "--topic-wait-seconds", "5")).fold(c => fail(s"exit $c"), identity)
    assert(o == Options("k:1", "http://r/apis/ccompat/v7", "t", "g", Some("/tmp/s"), "at_least_once", 250L, 3, Some(2.toShort), 5))
    val config = Main.streamsConfig(o, 6)
    assert(config.get(StreamsConfig.APPLICATION_ID_CONFIG) == "g")
    assert(config.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG) == "at_least_once")
    assert(config.get(StreamsConfig.STATE_DIR_CONFIG) == "/tmp/s")
    assert(config.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG) == 250L)
    assert(config.get(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG) == classOf[txpipe.consumer.storage.BoundedRocksDb])
    new StreamsConfig(config) // accepted by Kafka's own validation
  }

  test("bad flags exit 2, help exits 0") {
    assert(Options.parse(Seq("--nope")) == Left(2))
    assert(Options.parse(required.take(6)) == Left(2)) // no group
    assert(Options.parse(required ++ Seq("--processing-guarantee", "exactly_once")) == Left(2))
    assert(Options.parse(required ++ Seq("--partitions", "x")) == Left(2))
    assert(Options.parse(Seq("-h")) == Left(0))
    // Removed with the single topology: refused, not silently ignored.
    assert(Options.parse(required ++ Seq("--repartition")) == Left(2))
  }

  test("a record without a valid timestamp is totalled at its partition's time, not fatal") {
    val config = Main.streamsConfig(Options.parse(required).toOption.get, 6)
    assert(config.get(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG) ==
      classOf[org.apache.kafka.streams.processor.UsePartitionTimeOnInvalidTimestamp])
  }

  test("dead letters are sized for the smaller of the producer's request limit and the DLQ topic's") {
    val o = Options.parse(required ++ Seq("-X", "producer.max.request.size=2097152")).toOption.get
    assert(Main.producerMaxRequestSize(Main.streamsConfig(o, 6)) == 2097152)
    assert(Main.producerMaxRequestSize(Main.streamsConfig(Options.parse(required).toOption.get, 6)) == 1048576)
    assert(output.DeadLetters.maxRecordBytes(1048576, Some(1048588)) == 1048576 - output.DeadLetters.FramingBytes)
    assert(output.DeadLetters.maxRecordBytes(2097152, Some(500000)) == 500000 - output.DeadLetters.FramingBytes)
    assert(output.DeadLetters.maxRecordBytes(1048576, None) == 1048576 - output.DeadLetters.FramingBytes)
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

  test("the HTTP service: off by default, on loopback unless told; flags win over their environment variables") {
    val off = Options.parse(required, env = Map.empty).fold(c => fail(s"exit $c"), identity)
    assert(off.servicePort == 0 && Main.advertisedService(off).isEmpty)
    assert(!Main.streamsConfig(off, 6).containsKey(StreamsConfig.APPLICATION_SERVER_CONFIG))
    val on = Options.parse(required ++ Seq("--http-port", "8090"), env = Map.empty).fold(c => fail(s"exit $c"), identity)
    assert(on.servicePort == 8090 && on.serviceBindHost == "127.0.0.1")
    assert(Main.advertisedService(on).map(h => s"${h.host}:${h.port}").contains("127.0.0.1:8090"))
    val env = Map("TXPIPE_HTTP_PORT" -> "8091", "TXPIPE_HTTP_HOST" -> "0.0.0.0", "TXPIPE_HTTP_ADVERTISED_HOST" -> "consumer-2")
    val fromEnv = Options.parse(required, env = env).fold(c => fail(s"exit $c"), identity)
    assert(fromEnv.servicePort == 8091 && fromEnv.serviceBindHost == "0.0.0.0")
    assert(Main.advertisedService(fromEnv).map(h => s"${h.host}:${h.port}").contains("consumer-2:8091"))
    val flags = Options.parse(required ++ Seq("--http-port", "0", "--http-host", "127.0.0.2"), env = env)
      .fold(c => fail(s"exit $c"), identity)
    assert(flags.servicePort == 0 && flags.serviceBindHost == "127.0.0.2")
    assert(Options.parse(required ++ Seq("--http-port", "70000"), env = Map.empty) == Left(2))
    assert(Options.parse(required, env = Map("TXPIPE_HTTP_PORT" -> "web")) == Left(2))
  }
}
