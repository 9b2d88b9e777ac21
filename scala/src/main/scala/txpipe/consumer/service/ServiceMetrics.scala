package txpipe.consumer.service

import java.io.ByteArrayOutputStream

import scala.jdk.CollectionConverters._

import io.prometheus.metrics.core.metrics.{CounterWithCallback, GaugeWithCallback, Histogram}
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics
import io.prometheus.metrics.model.registry.PrometheusRegistry
import org.apache.kafka.common.{Metric, MetricName}
import txpipe.consumer.Counters

/** The consumer's metrics in Prometheus' text format: its own counts (from [[Counters]]), the
  * registry lookups it times, the committed view, commit latency and lag per partition (from
  * Kafka Streams' metrics), every bridged Kafka Streams metric, and the JVM's. */
final class ServiceMetrics(
    counters: Counters,
    streamsMetrics: () => java.util.Map[MetricName, _ <: Metric],
    view: () => Option[CommittedTotals],
    withJvm: Boolean = true
) {

  /** Where everything is registered. */
  val registry = new PrometheusRegistry()

  private val registryLookups = Histogram
    .builder()
    .name("txpipe_registry_lookup_seconds")
    .help("Schema registry lookups by outcome (ok, not_found, refused, error) and how long each took")
    .labelNames("outcome")
    .classicUpperBounds(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
    .register(registry)

  counter("txpipe_records_counted", "Transactions added to a total since the process started", () => counters.counted.get)
  counter("txpipe_duplicates_dropped", "Re-sent transactions dropped since the process started", () => counters.duplicates.get)
  counter("txpipe_records_moved", "Transactions moved to their account's partition", () => counters.moved.get)
  counter("txpipe_dedupe_ids_expired", "Counted transaction ids forgotten after the retention", () => counters.expiredIds.get)
  CounterWithCallback
    .builder()
    .name("txpipe_dlq_records")
    .help("Records written to the DLQ since the process started, by reason category")
    .labelNames("reason")
    .callback(cb => counters.rejectedByReason.toSeq.sortBy(_._1).foreach { case (r, n) => cb.call(n.get.toDouble, r) })
    .register(registry)

  GaugeWithCallback
    .builder()
    .name("txpipe_commit_latency_seconds")
    .help("Kafka Streams' commit latency across stream threads (stat: avg or max over its metrics window)")
    .labelNames("stat")
    .callback { cb =>
      Seq("avg", "max").foreach { stat =>
        val values = streamsValues("stream-thread-metrics", s"commit-latency-$stat")
        if (values.nonEmpty)
          cb.call((if (stat == "max") values.map(_._2).max else values.map(_._2).sum / values.size) / 1000.0, stat)
      }
    }
    .register(registry)

  GaugeWithCallback
    .builder()
    .name("txpipe_consumer_lag_records")
    .help("Records behind the end of each input partition this instance reads (Kafka Streams' main consumer)")
    .labelNames("topic", "partition")
    .callback { cb =>
      val seen = scala.collection.mutable.Set.empty[(String, String)]
      streamsValues("consumer-fetch-manager-metrics", "records-lag").foreach { case (name, v) =>
        val tags = name.tags
        val tp = (tags.getOrDefault("topic", ""), tags.getOrDefault("partition", ""))
        // The restore consumer reads changelogs; its lag is not the input's.
        if (tp._1.nonEmpty && !tags.getOrDefault("client-id", "").endsWith("restore-consumer") && seen.add(tp))
          cb.call(v, tp._1, tp._2)
      }
    }
    .register(registry)

  GaugeWithCallback
    .builder()
    .name("txpipe_view_accounts")
    .help("Accounts in this instance's committed view of the totals topic")
    .callback(cb => view().foreach(v => cb.call(v.size.toDouble)))
    .register(registry)

  GaugeWithCallback
    .builder()
    .name("txpipe_view_catching_up_partitions")
    .help("Totals partitions this instance is still reading up to their committed end")
    .callback(cb => view().foreach(v => cb.call(v.catchingUpPartitions.toDouble)))
    .register(registry)

  registry.register(new StreamsMetricsBridge(streamsMetrics))
  if (withJvm) JvmMetrics.builder().register(registry)

  private val writer = PrometheusTextFormatWriter.create()

  /** Records one schema registry lookup: its outcome and duration. */
  def registryLookup(outcome: String, nanos: Long): Unit = registryLookups.labelValues(outcome).observe(nanos / 1e9)

  /** Content type of [[scrape]]'s text. */
  def contentType: String = writer.getContentType

  /** Every metric now, in Prometheus' text format. */
  def scrape(): Array[Byte] = {
    val out = new ByteArrayOutputStream(64 * 1024)
    writer.write(out, registry.scrape())
    out.toByteArray
  }

  private def counter(name: String, help: String, value: () => Long): Unit = {
    CounterWithCallback.builder().name(name).help(help).callback(cb => cb.call(value().toDouble)).register(registry)
    ()
  }

  private def streamsValues(group: String, name: String): Seq[(MetricName, Double)] =
    streamsMetrics().asScala.toSeq.collect {
      case (n, m) if n.group == group && n.name == name =>
        m.metricValue() match {
          case v: java.lang.Number if java.lang.Double.isFinite(v.doubleValue) => Some(n -> v.doubleValue)
          case _ => None
        }
    }.flatten
}
