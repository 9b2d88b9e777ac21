package txpipe.consumer.storage

import java.time.Duration
import java.util

import org.apache.kafka.common.config.TopicConfig
import org.apache.kafka.common.serialization.Serdes
import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.state.{KeyValueBytesStoreSupplier, KeyValueStore, StoreBuilder, Stores}

/** How the topology gets its store of counted transaction ids: a [[SeenIdStore]] per task,
  * changelogged by Kafka Streams, its changelog forgetting by age. */
object SeenIds {

  /** How much longer than the retention the changelog keeps its records: room for clock skew. */
  val ChangelogMargin: Duration = Duration.ofHours(1)

  /** A store builder of byte keys and 8-byte first-seen times; `onForget` hears how many ids each dropped segment held. */
  def builder(storeName: String, retention: Duration, onForget: Long => Unit): StoreBuilder[KeyValueStore[Bytes, Array[Byte]]] = {
    val supplier = new KeyValueBytesStoreSupplier {
      override def name(): String = storeName
      override def get(): KeyValueStore[Bytes, Array[Byte]] = new SeenIdStore(storeName, retention, onForget)
      override def metricsScope(): String = "seen-ids"
    }
    // Not cached: nearly every id is new, so a cache would only hold each one until the commit.
    Stores.keyValueStoreBuilder(supplier, Serdes.Bytes(), Serdes.ByteArray())
      .withCachingDisabled()
      .withLoggingEnabled(changelogConfig(retention))
  }

  /** The changelog topic's settings: records deleted by age, never compacted (every key is new). */
  def changelogConfig(retention: Duration): util.Map[String, String] = {
    val keep = retention.plus(ChangelogMargin).toMillis
    val config = new util.HashMap[String, String]()
    config.put(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE)
    config.put(TopicConfig.RETENTION_MS_CONFIG, keep.toString)
    // A segment is deleted only once its newest record is past the retention, so segments a
    // quarter of it long (at least an hour) keep at most 1.25 times the retention to restore.
    config.put(TopicConfig.SEGMENT_MS_CONFIG, math.max(Duration.ofHours(1).toMillis, keep / 4).toString)
    config
  }
}
