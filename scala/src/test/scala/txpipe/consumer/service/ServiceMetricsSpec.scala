package txpipe.consumer.service

import java.nio.charset.StandardCharsets.UTF_8

import scala.jdk.CollectionConverters._

import org.apache.kafka.common.{Metric, MetricName}
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.Counters
import txpipe.consumer.output.DlqReason

class ServiceMetricsSpec extends AnyFunSuite {

  private def metric(group: String, name: String, value: Any, tags: (String, String)*): (MetricName, Metric) = {
    val n = new MetricName(name, group, "", tags.toMap.asJava)
    n -> new Metric {
      override def metricName(): MetricName = n
      override def metricValue(): AnyRef = value.asInstanceOf[AnyRef]
    }
  }

  private def streamsMetrics(ms: (MetricName, Metric)*): () => java.util.Map[MetricName, Metric] =
    () => ms.toMap.asJava

  private def lines(m: ServiceMetrics): Seq[String] = new String(m.scrape(), UTF_8).linesIterator.toSeq

  test("the consumer's counts, DLQ writes by bounded reason, commit latency and lag per partition, by name") {
    val counters = new Counters
    counters.counted.set(1200)
    counters.duplicates.set(40)
    counters.rejectedFor("magic byte is 110, expected 0")
    counters.rejectedFor("schema id 9: not known to the registry")
    counters.rejectedFor("conflicting duplicate: transaction_id 'x' of account 'y' was counted ...")
    val m = new ServiceMetrics(
      counters,
      streamsMetrics(
        metric("stream-thread-metrics", "commit-latency-avg", 20.0, "thread-id" -> "t1"),
        metric("stream-thread-metrics", "commit-latency-max", 80.0, "thread-id" -> "t1"),
        metric(
          "consumer-fetch-manager-metrics",
          "records-lag",
          7.0,
          "client-id" -> "g-StreamThread-1-consumer",
          "topic" -> "in",
          "partition" -> "3"),
        metric(
          "consumer-fetch-manager-metrics",
          "records-lag",
          99.0,
          "client-id" -> "g-StreamThread-1-restore-consumer",
          "topic" -> "cl",
          "partition" -> "3")
      ),
      () => None,
      withJvm = false
    )
    m.registryLookup("ok", 2000000L)
    val text = lines(m)
    assert(text.contains("txpipe_records_counted_total 1200.0"))
    assert(text.contains("txpipe_duplicates_dropped_total 40.0"))
    assert(text.contains("""txpipe_dlq_records_total{reason="framing"} 1.0"""))
    assert(text.contains("""txpipe_dlq_records_total{reason="schema"} 1.0"""))
    assert(text.contains("""txpipe_dlq_records_total{reason="conflicting_duplicate"} 1.0"""))
    // Every category appears, and only they: the label set is bounded whatever the reasons say.
    assert(text.count(_.startsWith("txpipe_dlq_records_total{")) == DlqReason.All.size)
    assert(text.contains("""txpipe_commit_latency_seconds{stat="avg"} 0.02"""))
    assert(text.contains("""txpipe_commit_latency_seconds{stat="max"} 0.08"""))
    assert(text.contains("""txpipe_consumer_lag_records{partition="3",topic="in"} 7.0"""))
    assert(!text.exists(_.startsWith("""txpipe_consumer_lag_records{partition="3",topic="cl"}""")))
    assert(text.contains("""txpipe_registry_lookup_seconds_count{outcome="ok"} 1"""))
    assert(text.contains("""kafka_streams_stream_thread_metrics_commit_latency_avg{thread_id="t1"} 20.0"""))
  }

  test("DLQ reasons fall into a fixed set of categories") {
    assert(DlqReason.of("record value is null") == "framing")
    assert(DlqReason.of("record value is 2 bytes, shorter than the 6-byte minimum frame") == "framing")
    assert(DlqReason.of("message index 5 is negative or too large") == "framing")
    assert(DlqReason.of("record key and value are 20000 bytes, over the limit of 16384") == "oversized")
    assert(DlqReason.of("protobuf payload does not parse as txpipe.v1.Transaction: x") == "undecodable")
    assert(DlqReason.of("amount is NaN") == "invalid_field")
    assert(DlqReason.of("account_number is empty") == "invalid_field")
    assert(DlqReason.of("something new") == "other")
    assert(DlqReason.All.toSet.size == DlqReason.All.size)
  }

  test("bridged Kafka Streams metrics: named by group and name, tags as labels, non-numbers skipped, bounded") {
    val bridge = new StreamsMetricsBridge(
      streamsMetrics(
        metric("stream-thread-metrics", "commit-total", 12.0, "thread-id" -> "t1"),
        metric("stream-metrics", "state", "RUNNING"),
        metric("stream-metrics", "alive-stream-threads", 2, "client-id" -> "c"),
        metric("stream-task-metrics", "process-rate", Double.NaN, "task-id" -> "0_1"),
        metric("some-other-group", "anything", 1.0)
      ),
      maxSeries = 10
    )
    val snaps = bridge.collect().asScala.map(s => s.getMetadata.getName -> s.getDataPoints.size).toMap
    // A gauge may not end in _total: the cumulative count keeps its name with _value after it.
    assert(snaps == Map(
      "kafka_streams_stream_thread_metrics_commit_total_value" -> 1,
      "kafka_streams_stream_metrics_alive_stream_threads" -> 1))
    val many = (1 to 50).map(i => metric("stream-task-metrics", "process-rate", i.toDouble, "task-id" -> s"0_$i"))
    val capped = new StreamsMetricsBridge(streamsMetrics(many: _*), maxSeries = 20).collect()
    assert(capped.asScala.map(_.getDataPoints.size).sum == 20)
  }

  test("the JVM's metrics are included") {
    val m = new ServiceMetrics(new Counters, streamsMetrics(), () => None)
    assert(lines(m).exists(_.startsWith("jvm_memory_used_bytes")))
  }
}
