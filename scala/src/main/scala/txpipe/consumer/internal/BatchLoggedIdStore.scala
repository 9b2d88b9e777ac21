package txpipe.consumer.internal

import java.lang.reflect.{InvocationHandler, InvocationTargetException, Method, Modifier, Proxy}
import java.nio.ByteBuffer
import java.time.Duration
import java.util

import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.consumer.ConsumerRecord
import org.apache.kafka.common.config.TopicConfig
import org.apache.kafka.common.serialization.Serdes
import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.KeyValue
import org.apache.kafka.streams.processor.internals.{InternalProcessorContext, ProcessorContextUtils, RecordBatchingStateRestoreCallback}
import org.apache.kafka.streams.processor.{StateRestoreCallback, StateStore, StateStoreContext}
import org.apache.kafka.streams.state.internals.{CacheFlushListener, CachedStateStore}
import org.apache.kafka.streams.state.{KeyValueBytesStoreSupplier, KeyValueStore, StoreBuilder, Stores}

/** The seen-ids store: a FilteredRocksDbStore whose changelog carries its new ids in batches.
  *
  * Kafka's change-logging layer sends one changelog record per put, so every counted
  * transaction made two records to produce (its total and its id). Here the ids gather in an
  * [[IdBatch]] that goes out as one record when it reaches MaxBatchBytes and before every
  * commit: Kafka Streams flushes the caches of its stores before committing, and this store
  * takes part as a CachedStateStore. A batch is sent in the task's open transaction, so under
  * exactly-once an id reaches the changelog in the same transaction as the total it changed.
  *
  * Values are the first-seen wall-clock times (ms) the TotalsProcessor stores. The changelog
  * forgets by time rather than by tombstones: its records are deleted once older than the
  * retention (plus a margin for clocks), and a restore skips ids older than the retention, so
  * deletes (the expiry of old ids) are not logged.
  */
final class BatchLoggedIdStore(name: String, retention: Duration)
    extends FilteredRocksDbStore(name)
    with CachedStateStore[Bytes, Array[Byte]] {

  private val batch = new IdBatch
  private var logging: InternalProcessorContext[_, _] = _

  /** Opens the store; its changelog records are batches, which the restore unpacks. */
  override def init(context: StateStoreContext, root: StateStore): Unit = {
    batch.clear()
    logging = ProcessorContextUtils.asInternalProcessorContext(context)
    super.init(context, root)
  }

  override protected def openingContext(context: StateStoreContext): StateStoreContext =
    BatchLoggedIdStore.unpackingRestores(context, retention)

  /** Stores the entry and adds it to the changelog batch; a null value deletes, unlogged. */
  override def put(key: Bytes, value: Array[Byte]): Unit = {
    super.put(key, value)
    if (value != null) logLater(key.get, value)
  }

  /** Stores the entries and adds them to the changelog batch. */
  override def putAll(entries: util.List[KeyValue[Bytes, Array[Byte]]]): Unit = {
    super.putAll(entries)
    entries.forEach(kv => if (kv.value != null) logLater(kv.key.get, kv.value))
  }

  /** Called by Streams before each commit: sends the ids added since the last batch. */
  override def flushCache(): Unit = send()

  /** Called by Streams when it drops a task's uncommitted work: so are the unsent ids. */
  override def clearCache(): Unit = batch.clear()

  override def setFlushListener(listener: CacheFlushListener[Bytes, Array[Byte]], sendOldValues: Boolean): Boolean = false

  /** Drops the unsent ids (a clean close commits first, so there are none) and closes the database. */
  override def close(): Unit = {
    batch.clear()
    super.close()
  }

  private def logLater(key: Array[Byte], value: Array[Byte]): Unit = {
    batch.add(key, value)
    if (batch.size >= BatchLoggedIdStore.MaxBatchBytes) send()
  }

  private def send(): Unit =
    if (!batch.isEmpty) {
      val key = Bytes.wrap(batch.firstKey)
      logging.logChange(name, key, batch.take(), logging.currentSystemTimeMs(), getPosition)
    }
}

object BatchLoggedIdStore {

  /** A batch goes out once it holds this much (about 1000 ids), well under Kafka's 1 MiB record limit. */
  val MaxBatchBytes: Int = 64 * 1024

  /** How much longer than the retention the changelog keeps its records: room for clock skew. */
  val ChangelogMargin: Duration = Duration.ofHours(1)

  /** A store builder for a BatchLoggedIdStore of String keys and first-seen Long values. */
  def builder(storeName: String, retention: Duration): StoreBuilder[KeyValueStore[String, java.lang.Long]] =
    new Builder(storeName, retention)

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

  // Streams creates the changelog and restores from it when a builder says logging is enabled;
  // the store itself writes the records, so Kafka's per-put logging layer is left out.
  private final class Builder(storeName: String, retention: Duration) extends StoreBuilder[KeyValueStore[String, java.lang.Long]] {
    private val supplier = new KeyValueBytesStoreSupplier {
      override def name(): String = storeName
      override def get(): KeyValueStore[Bytes, Array[Byte]] = new BatchLoggedIdStore(storeName, retention)
      override def metricsScope(): String = FilteredRocksDbStore.MetricsScope
    }
    private val layers = Stores.keyValueStoreBuilder(supplier, Serdes.String(), Serdes.Long()).withLoggingDisabled()

    override def build(): KeyValueStore[String, java.lang.Long] = layers.build()
    override def withCachingEnabled(): StoreBuilder[KeyValueStore[String, java.lang.Long]] =
      throw new UnsupportedOperationException(s"$storeName holds ids that are nearly all new: a cache would only add work")
    override def withCachingDisabled(): StoreBuilder[KeyValueStore[String, java.lang.Long]] = this
    override def withLoggingEnabled(config: util.Map[String, String]): StoreBuilder[KeyValueStore[String, java.lang.Long]] = this
    override def withLoggingDisabled(): StoreBuilder[KeyValueStore[String, java.lang.Long]] =
      throw new UnsupportedOperationException(s"$storeName must be changelogged: it is what keeps re-sent transactions from being counted twice")
    override def logConfig(): util.Map[String, String] = changelogConfig(retention)
    override def loggingEnabled(): Boolean = true
    override def name(): String = storeName
  }

  /** `context`, except that the restore callback it is given receives each batch as its entries, minus those older than `retention`. */
  def unpackingRestores(context: StateStoreContext, retention: Duration): StateStoreContext = {
    // A proxy rather than a wrapper class: Kafka's store casts the context to the internal
    // interface the real one implements, so the proxy implements all of them.
    val interfaces = new util.LinkedHashSet[Class[_]]()
    var c: Class[_] = context.getClass
    while (c != null) {
      allInterfaces(c, interfaces)
      c = c.getSuperclass
    }
    val handler = new InvocationHandler {
      override def invoke(proxy: AnyRef, method: Method, args: Array[AnyRef]): AnyRef = {
        val passed =
          if (method.getName == "register" && args != null && args.length >= 2 && args(1).isInstanceOf[StateRestoreCallback]) {
            val adapted = args.clone()
            adapted(1) = unpacking(args(1).asInstanceOf[StateRestoreCallback], retention)
            adapted
          } else args
        try method.invoke(context, passed: _*)
        catch { case e: InvocationTargetException => throw e.getCause }
      }
    }
    Proxy.newProxyInstance(context.getClass.getClassLoader, interfaces.asScala.toArray, handler)
      .asInstanceOf[StateStoreContext]
  }

  /** A restore callback that hands `store` the entries of each batch not older than `retention`. */
  def unpacking(store: StateRestoreCallback, retention: Duration): RecordBatchingStateRestoreCallback = {
    val kafkas = store match {
      case batching: RecordBatchingStateRestoreCallback => batching
      case other =>
        throw new IllegalStateException(s"cannot restore batches of ids through a ${other.getClass.getName}: this Kafka Streams version registers stores differently")
    }
    new RecordBatchingStateRestoreCallback {
      override def restoreBatch(records: util.Collection[ConsumerRecord[Array[Byte], Array[Byte]]]): Unit = {
        val cutoff = System.currentTimeMillis() - retention.toMillis
        val entries = new util.ArrayList[ConsumerRecord[Array[Byte], Array[Byte]]]()
        records.forEach { r =>
          if (r.value != null)
            IdBatch.foreach(r.value, s"changelog record ${r.topic}-${r.partition} at offset ${r.offset}") { (key, value) =>
              if (value.length != 8 || ByteBuffer.wrap(value).getLong >= cutoff)
                entries.add(new ConsumerRecord(r.topic, r.partition, r.offset, key, value))
            }
        }
        kafkas.restoreBatch(entries)
      }
    }
  }

  private def allInterfaces(c: Class[_], into: util.LinkedHashSet[Class[_]]): Unit =
    c.getInterfaces.foreach { i =>
      // A proxy may implement package-private interfaces only of its own package.
      if (Modifier.isPublic(i.getModifiers) && into.add(i)) allInterfaces(i, into)
    }
}
