package txpipe.consumer.service

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import io.prometheus.metrics.model.registry.MultiCollector
import io.prometheus.metrics.model.snapshots.{GaugeSnapshot, Labels, MetricSnapshot, MetricSnapshots, PrometheusNaming}
import org.apache.kafka.common.{Metric, MetricName}

/** Kafka Streams' own metrics (those of its threads, tasks and embedded clients, from
  * `KafkaStreams#metrics()`) as Prometheus gauges named `kafka_streams_<group>_<name>`, labelled by
  * their tags. Bounded: only the groups in `groups`, and at most `maxSeries` series in all, so a
  * topic of many partitions cannot make a scrape grow without limit. */
final class StreamsMetricsBridge(
    metrics: () => java.util.Map[MetricName, _ <: Metric],
    groups: Set[String] = StreamsMetricsBridge.DefaultGroups,
    maxSeries: Int = StreamsMetricsBridge.DefaultMaxSeries
) extends MultiCollector {

  /** The current values of the chosen metrics, numeric and finite only. */
  override def collect(): MetricSnapshots = {
    val byName = mutable.LinkedHashMap.empty[String, mutable.LinkedHashMap[Labels, Double]]
    var series = 0
    val sorted = metrics().asScala.toSeq.filter { case (n, _) => groups.contains(n.group) }.sortBy { case (n, _) =>
      (n.group, n.name, n.tags.asScala.toSeq.sorted.mkString(","))
    }
    sorted.foreach { case (name, metric) =>
      if (series < maxSeries) metric.metricValue() match {
        case v: java.lang.Number if java.lang.Double.isFinite(v.doubleValue) =>
          val labels = StreamsMetricsBridge.labels(name)
          val points = byName.getOrElseUpdate(StreamsMetricsBridge.prometheusName(name), mutable.LinkedHashMap.empty)
          // Two tags can map to the same label once sanitised; the first value wins.
          if (!points.contains(labels)) {
            points.put(labels, v.doubleValue)
            series += 1
          }
        case _ => ()
      }
    }
    val snapshots: Seq[MetricSnapshot] = byName.toSeq.map { case (name, points) =>
      val b = GaugeSnapshot.builder().name(name).help("Kafka Streams metric")
      points.foreach { case (labels, v) =>
        b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels).value(v).build())
      }
      b.build()
    }
    new MetricSnapshots(snapshots.asJava)
  }
}

/** Naming and bounds of the bridged metrics. */
object StreamsMetricsBridge {

  /** Stream, thread and task metrics, and the embedded clients' main groups (lag per partition among them). */
  val DefaultGroups: Set[String] = Set(
    "stream-metrics",
    "stream-thread-metrics",
    "stream-task-metrics",
    "consumer-metrics",
    "consumer-fetch-manager-metrics",
    "consumer-coordinator-metrics",
    "producer-metrics"
  )

  private val Reserved = Seq("_total", "_created", "_bucket", "_info", "_count", "_sum")

  /** Series per scrape at most. */
  val DefaultMaxSeries = 3000

  /** `kafka_streams_<group>_<name>`, in Prometheus' character set, without a suffix Prometheus reserves. */
  def prometheusName(name: MetricName): String = {
    val raw = s"kafka_streams_${name.group}_${name.name}".replaceAll("[^A-Za-z0-9_]", "_")
    // A gauge may not end in a suffix Prometheus gives counters and histograms (Kafka's "-total" metrics do).
    if (Reserved.exists(raw.endsWith)) raw + "_value" else raw
  }

  /** The metric's tags as labels, names sanitised. */
  def labels(name: MetricName): Labels = {
    val tags = name.tags.asScala.toSeq.sortBy(_._1)
    val seen = mutable.LinkedHashMap.empty[String, String]
    tags.foreach { case (k, v) =>
      val label = PrometheusNaming.sanitizeLabelName(k.replaceAll("[^A-Za-z0-9_]", "_"))
      if (!seen.contains(label)) seen.put(label, v)
    }
    Labels.of(seen.keys.toArray, seen.values.toArray)
  }
}
