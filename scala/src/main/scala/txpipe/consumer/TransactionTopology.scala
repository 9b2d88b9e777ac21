package txpipe.consumer

import java.time.Duration

import org.apache.kafka.common.serialization.Serdes
import org.apache.kafka.streams.Topology
import org.apache.kafka.streams.processor.api.{Processor, ProcessorSupplier}
import org.apache.kafka.streams.state.Stores
import txpipe.consumer.decoding.{SchemaCheck, TransactionDecoder}
import txpipe.consumer.output.{DeadLetters, LineSink, StdoutLines}
import txpipe.consumer.registry.SchemaRegistry
import txpipe.consumer.routing.AccountPlacement
import txpipe.consumer.storage.SeenIds
import txpipe.consumer.totals.TotalsProcessor

/** The Kafka Streams topology: raw input bytes in, per-account totals and dead letters out. */
object TransactionTopology {

  /** The message every valid record must carry. */
  val ExpectedMessage = "txpipe.v1.Transaction"

  /** Name of the changelogged store holding one AccountTotal per account. */
  val TotalsStore = "account-totals"

  /** Name of the store of counted (account, transaction_id)s with their first-seen times, for dropping re-sent copies. */
  val SeenIdsStore = "counted-transaction-ids"

  /** The changelog topic Kafka Streams keeps for `store` of `group`. */
  def changelogTopic(group: String, store: String): String = s"$group-$store-changelog"

  /** Changelog topics of stores that earlier versions kept and this one no longer reads, for a group. */
  def retiredChangelogs(group: String): Seq[String] = Seq(changelogTopic(group, "seen-transaction-ids"))

  /** The compacted topic of running totals for an input topic. */
  def totalsTopic(inputTopic: String): String = s"$inputTopic-totals"

  /** The topic through which a group moves records to their account's partition: one topic per
    * group, named like Kafka Streams' own internal topics so the application reset tool removes it. */
  def byAccountTopic(group: String): String = s"$group-transactions-by-account-repartition"

  /** The dead-letter topic for an input topic. */
  def dlqTopic(inputTopic: String): String = s"$inputTopic-dlq"

  /** How often each account's latest total is sent to the totals topic when nothing else is said. */
  val DefaultPublishInterval: Duration = Duration.ofMillis(Options.DefaultCommitIntervalMs)

  /** The DLQ record limit when nothing else is known: Kafka's default max.request.size. */
  val DefaultDlqMaxRecordBytes: Int = DeadLetters.maxRecordBytes(1024 * 1024, None)

  private val Source = "input"
  private val ByAccountSource = "by-account"
  private val Totals = "totals"
  private val TotalsSink = "totals-sink"
  private val DlqSink = "dlq-sink"
  private val ByAccountSink = "by-account-sink"

  /** Builds the topology of `group` for an input topic of `partitions` partitions, placed and
    * keyed by any producer; `lineSink` receives one "(account, total)" line per counted record, and
    * the totals topic each changed account's latest total every `publishInterval`. */
  def createTopology(
      inputTopic: String,
      group: String,
      registry: SchemaRegistry,
      partitions: Int,
      lineSink: LineSink = StdoutLines,
      dedupeRetention: Duration = Options.DefaultDedupeRetention,
      counters: Counters = new Counters,
      dlqMaxRecordBytes: Int = DefaultDlqMaxRecordBytes,
      publishInterval: Duration = DefaultPublishInterval
  ): Topology = {
    // Shared by all tasks so each schema id is looked up once per process, not once per partition.
    val decoder = new TransactionDecoder(new SchemaCheck(registry, ExpectedMessage))
    val deadLetters = new DeadLetters(dlqMaxRecordBytes, counters)
    val storeNames = TotalsProcessor.Stores(TotalsStore, SeenIdsStore)
    val byAccount = byAccountTopic(group)
    val topics = TotalsProcessor.Topics(inputTopic, byAccount, partitions)
    val children = TotalsProcessor.Children(TotalsSink, DlqSink, ByAccountSink)
    val supplier = new ProcessorSupplier[Array[Byte], Array[Byte], AnyRef, AnyRef] {
      override def get(): Processor[Array[Byte], Array[Byte], AnyRef, AnyRef] =
        new TotalsProcessor(
          decoder, deadLetters, lineSink, dedupeRetention, counters, publishInterval, storeNames, topics, children)
    }
    val bytes = Serdes.ByteArray()
    new Topology()
      .addSource(Source, bytes.deserializer(), bytes.deserializer(), inputTopic)
      // Same partition count as the input (Main makes sure), so task N reads partition N of both.
      .addSource(ByAccountSource, bytes.deserializer(), bytes.deserializer(), byAccount)
      .addProcessor(Totals, supplier, Source, ByAccountSource)
      // Cached: between commits an account's total changes in memory and reaches RocksDB and the
      // changelog once per commit, not once per transaction; the cache is flushed before every commit.
      .addStateStore(
        // Values are AccountTotal's protobuf bytes, which the processor encodes once for store and topic.
        Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TotalsStore), Serdes.String(), Serdes.ByteArray())
          .withCachingEnabled(),
        Totals
      )
      .addStateStore(SeenIds.builder(SeenIdsStore, dedupeRetention, n => { counters.expiredIds.addAndGet(n); () }), Totals)
      // The processor forwards each record to one sink by name, so each sees only its own type.
      .addSink(TotalsSink, totalsTopic(inputTopic), Serdes.String().serializer(), bytes.serializer(), Totals)
      .addSink(DlqSink, dlqTopic(inputTopic), bytes.serializer(), bytes.serializer(), Totals)
      .addSink(ByAccountSink, byAccount, bytes.serializer(), bytes.serializer(), AccountPlacement.partitioner, Totals)
  }
}
