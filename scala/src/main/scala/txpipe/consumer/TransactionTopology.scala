package txpipe.consumer

import java.time.Duration

import org.apache.kafka.common.serialization.Serdes
import org.apache.kafka.streams.kstream.{Consumed, KStream, KeyValueMapper, Named, Predicate, Produced, Repartitioned, ValueMapper}
import org.apache.kafka.streams.processor.api.{FixedKeyProcessor, FixedKeyProcessorSupplier, Processor, ProcessorSupplier}
import org.apache.kafka.streams.state.Stores
import org.apache.kafka.streams.{KeyValue, StreamsBuilder, Topology}
import txpipe.consumer.internal.{BatchLoggedIdStore, Decoded, DecodeProcessor, DecodingTotalsProcessor, LineFlushStoreBuilder, ProtobufSerde, SchemaCheck, TotalsProcessor, TransactionDecoder}
import txpipe.v1.{AccountTotal, Transaction}

/** The Kafka Streams topology: raw input bytes in, per-account totals and dead letters out. */
object TransactionTopology {

  /** The message every valid record must carry. */
  val ExpectedMessage = "txpipe.v1.Transaction"

  /** Name of the changelogged store holding one AccountTotal per account. */
  val TotalsStore = "account-totals"

  /** Name of the store of counted (account, transaction_id)s, for dropping re-sent copies; its changelog holds them in batches. */
  val SeenIdsStore = "counted-transaction-ids"

  /** The changelog topic Kafka Streams keeps for `store` of `group`. */
  def changelogTopic(group: String, store: String): String = s"$group-$store-changelog"

  /** Changelog topics of stores that earlier versions kept and this one no longer reads, for a group. */
  def retiredChangelogs(group: String): Seq[String] = Seq(changelogTopic(group, "seen-transaction-ids"))

  /** Name of the internal topic that brings all of an account's transactions to one task (with --repartition). */
  val ByAccount = "by-account"

  /** The compacted topic of running totals for an input topic. */
  def totalsTopic(inputTopic: String): String = s"$inputTopic-totals"

  /** The dead-letter topic for an input topic. */
  def dlqTopic(inputTopic: String): String = s"$inputTopic-dlq"

  /** Name of the store-less store whose flush writes out the buffered lines before each commit. */
  val LinesBarrier = "lines-flushed-before-commit"

  /** Builds the topology; `lineSink` receives one "(account, total)" line per counted record. */
  def createTopology(
      inputTopic: String,
      registry: SchemaRegistry,
      partitioning: Partitioning,
      lineSink: LineSink = StdoutLines,
      dedupeRetention: Duration = Options.DefaultDedupeRetention,
      counters: Counters = new Counters
  ): Topology = {
    val repartition = partitioning == Partitioning.Repartition
    // Shared by all tasks so each schema id is looked up once per process, not once per partition.
    val decoder = new TransactionDecoder(new SchemaCheck(registry, ExpectedMessage), partitioning)
    val builder = new StreamsBuilder()
    // Cached: between commits an account's total changes in memory and reaches RocksDB and the
    // changelog once per commit, not once per transaction. The cache is flushed before every
    // commit, so nothing it holds can be committed without being in the changelog.
    builder.addStateStore(
      Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TotalsStore), Serdes.String(), ProtobufSerde(AccountTotal))
        .withCachingEnabled()
    )
    // Same task and key space as the totals, so a transaction's "seen" mark and its effect on
    // the total commit together. Not cached: every id is new, so a cache would only add work.
    // Its changelog carries the ids about a thousand to a record, not one record each.
    builder.addStateStore(BatchLoggedIdStore.builder(SeenIdsStore, dedupeRetention))
    builder.addStateStore(new LineFlushStoreBuilder(LinesBarrier, lineSink))

    val input = builder.stream(inputTopic, Consumed.`with`(Serdes.ByteArray(), Serdes.ByteArray()).withName("input"))
    if (repartition) repartitionedTotals(input, inputTopic, decoder, lineSink, dedupeRetention, counters)
    else {
      // The decoder lets through only records on their account's own partition, so this task owns
      // every account it sees: no repartition, each record is read and committed once, and one
      // node decodes, totals, and routes to the two sinks.
      val out = input.process(
        new ProcessorSupplier[Array[Byte], Array[Byte], AnyRef, AnyRef] {
          override def get(): Processor[Array[Byte], Array[Byte], AnyRef, AnyRef] =
            new DecodingTotalsProcessor(decoder, TotalsStore, SeenIdsStore, lineSink, dedupeRetention, counters, TotalsSink, DlqSink)
        },
        Named.as("totals"), TotalsStore, SeenIdsStore, LinesBarrier
      )
      // The processor forwards each record to one sink by name, so each sees only its own type.
      out.asInstanceOf[KStream[Array[Byte], Array[Byte]]]
        .to(dlqTopic(inputTopic), Produced.`with`(Serdes.ByteArray(), Serdes.ByteArray()).withName(DlqSink))
      out.asInstanceOf[KStream[String, AccountTotal]]
        .to(totalsTopic(inputTopic), Produced.`with`(Serdes.String(), ProtobufSerde(AccountTotal)).withName(TotalsSink))
    }
    builder.build()
  }

  private val TotalsSink = "totals-sink"
  private val DlqSink = "dlq-sink"

  // Any key on any partition: decode, send the bad records to the DLQ, re-key the good ones by
  // account through an internal topic, and total them on the other side.
  private def repartitionedTotals(
      input: KStream[Array[Byte], Array[Byte]],
      inputTopic: String,
      decoder: TransactionDecoder,
      lineSink: LineSink,
      dedupeRetention: Duration,
      counters: Counters
  ): Unit = {
    val decoded = input.processValues(
      new FixedKeyProcessorSupplier[Array[Byte], Array[Byte], Decoded] {
        override def get(): FixedKeyProcessor[Array[Byte], Array[Byte], Decoded] =
          new DecodeProcessor(decoder, counters)
      },
      Named.as("decode")
    )
    decoded
      .filter(new Predicate[Array[Byte], Decoded] {
        override def test(key: Array[Byte], d: Decoded): Boolean = d.isInstanceOf[Decoded.Rejected]
      }, Named.as("rejected"))
      .mapValues(new ValueMapper[Decoded, Array[Byte]] {
        override def apply(d: Decoded): Array[Byte] = d.asInstanceOf[Decoded.Rejected].original
      }, Named.as("original-value"))
      .to(dlqTopic(inputTopic), Produced.`with`(Serdes.ByteArray(), Serdes.ByteArray()).withName(DlqSink))
    decoded
      .filter(new Predicate[Array[Byte], Decoded] {
        override def test(key: Array[Byte], d: Decoded): Boolean = d.isInstanceOf[Decoded.Accepted]
      }, Named.as("accepted"))
      .map[String, Transaction](new KeyValueMapper[Array[Byte], Decoded, KeyValue[String, Transaction]] {
        override def apply(key: Array[Byte], d: Decoded): KeyValue[String, Transaction] = {
          val tx = d.asInstanceOf[Decoded.Accepted].transaction
          KeyValue.pair(tx.accountNumber, tx)
        }
      }, Named.as("key-by-account"))
      .repartition(Repartitioned.`with`(Serdes.String(), ProtobufSerde(Transaction)).withName(ByAccount))
      .process(totalsSupplier[String](lineSink, dedupeRetention, counters), Named.as("totals"), TotalsStore, SeenIdsStore, LinesBarrier)
      .to(totalsTopic(inputTopic), Produced.`with`(Serdes.String(), ProtobufSerde(AccountTotal)).withName(TotalsSink))
  }

  private def totalsSupplier[K](lineSink: LineSink, retention: Duration, counters: Counters): ProcessorSupplier[K, Transaction, String, AccountTotal] =
    new ProcessorSupplier[K, Transaction, String, AccountTotal] {
      override def get(): Processor[K, Transaction, String, AccountTotal] =
        new TotalsProcessor[K](TotalsStore, lineSink, SeenIdsStore, retention, counters)
    }
}
