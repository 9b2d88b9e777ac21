package txpipe.consumer

import java.time.Duration

import org.apache.kafka.common.serialization.Serdes
import org.apache.kafka.streams.kstream.{Consumed, KeyValueMapper, Named, Predicate, Produced, Repartitioned, ValueMapper}
import org.apache.kafka.streams.processor.api.{FixedKeyProcessor, FixedKeyProcessorSupplier, Processor, ProcessorSupplier}
import org.apache.kafka.streams.state.Stores
import org.apache.kafka.streams.{KeyValue, StreamsBuilder, Topology}
import txpipe.consumer.internal.{Decoded, DecodeProcessor, ProtobufSerde, SchemaCheck, TotalsProcessor, TransactionDecoder}
import txpipe.v1.{AccountTotal, Transaction}

/** The Kafka Streams topology: raw input bytes in, per-account totals and dead letters out. */
object TransactionTopology {

  /** The message every valid record must carry. */
  val ExpectedMessage = "txpipe.v1.Transaction"

  /** Name of the changelogged store holding one AccountTotal per account. */
  val TotalsStore = "account-totals"

  /** Name of the changelogged store of counted (account, transaction_id)s, for dropping re-sent copies. */
  val SeenIdsStore = "seen-transaction-ids"

  /** Name of the internal topic that brings all of an account's transactions to one task. */
  val ByAccount = "by-account"

  /** The compacted topic of running totals for an input topic. */
  def totalsTopic(inputTopic: String): String = s"$inputTopic-totals"

  /** The dead-letter topic for an input topic. */
  def dlqTopic(inputTopic: String): String = s"$inputTopic-dlq"

  /** Builds the topology; `lineSink` receives one "(account, total)" line per counted record. */
  def createTopology(
      inputTopic: String,
      registry: SchemaRegistry,
      lineSink: String => Unit = StdoutLines.println,
      dedupeRetention: Duration = Options.DefaultDedupeRetention,
      counters: Counters = new Counters
  ): Topology = {
    // Shared by all tasks so each schema id is looked up once per process, not once per partition.
    val decoder = new TransactionDecoder(new SchemaCheck(registry, ExpectedMessage))
    val builder = new StreamsBuilder()
    builder.addStateStore(
      Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TotalsStore), Serdes.String(), ProtobufSerde(AccountTotal))
    )
    // Same task and key space as the totals (both behind the repartition by account), so a
    // transaction's "seen" mark and its effect on the total commit together.
    builder.addStateStore(
      Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SeenIdsStore), Serdes.String(), Serdes.Long())
    )

    // Bytes in: decoding happens in a processor so that no bad record can escape the DLQ.
    val decoded = builder
      .stream(inputTopic, Consumed.`with`(Serdes.ByteArray(), Serdes.ByteArray()).withName("input"))
      .processValues(
        new FixedKeyProcessorSupplier[Array[Byte], Array[Byte], Decoded] {
          override def get(): FixedKeyProcessor[Array[Byte], Array[Byte], Decoded] = new DecodeProcessor(decoder, counters)
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
      .to(dlqTopic(inputTopic), Produced.`with`(Serdes.ByteArray(), Serdes.ByteArray()).withName("dlq-sink"))

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
      // Records without a key, or from a producer that partitions differently, can put one
      // account on several input partitions; its total must live in exactly one task's store.
      .repartition(Repartitioned.`with`(Serdes.String(), ProtobufSerde(Transaction)).withName(ByAccount))
      .process(
        new ProcessorSupplier[String, Transaction, String, AccountTotal] {
          override def get(): Processor[String, Transaction, String, AccountTotal] = new TotalsProcessor(TotalsStore, lineSink, SeenIdsStore, dedupeRetention, counters)
        },
        Named.as("totals"),
        TotalsStore,
        SeenIdsStore
      )
      .to(totalsTopic(inputTopic), Produced.`with`(Serdes.String(), ProtobufSerde(AccountTotal)).withName("totals-sink"))

    builder.build()
  }
}
