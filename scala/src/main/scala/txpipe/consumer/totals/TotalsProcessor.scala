package txpipe.consumer.totals

import java.nio.charset.StandardCharsets.UTF_8
import java.time.{Duration, Instant}

import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.processor.api.{Processor, ProcessorContext, Record}
import org.apache.kafka.streams.state.KeyValueStore
import org.slf4j.LoggerFactory
import txpipe.consumer.decoding.TransactionDecoder
import txpipe.consumer.output.DeadLetters
import txpipe.consumer.storage.SeenIdStore
import txpipe.consumer.{Amounts, Counters, LineSink}
import txpipe.v1.{AccountTotal, Transaction}

/** The one step of the topology: decodes each input record, adds a valid transaction to its
  * account's exact running total once per (account_number, transaction_id), and sends the new
  * total to `totalsChild` and its line to `lineSink`; anything else goes to `dlqChild`.
  *
  * Both stores belong to the record's task and are changelogged, so under exactly_once_v2 a
  * transaction's "seen" mark and its effect on the total commit together. A copy arriving more
  * than `retention` after the first is counted again. The line goes to the sink before the
  * new total is sent, so a sink that writes its lines out when the producer completes a send
  * has written it before the Kafka transaction holding the record can commit.
  */
final class TotalsProcessor(
    decoder: TransactionDecoder,
    deadLetters: DeadLetters,
    lineSink: LineSink,
    retention: Duration,
    counters: Counters,
    stores: TotalsProcessor.Stores,
    totalsChild: String,
    dlqChild: String
) extends Processor[Array[Byte], Array[Byte], AnyRef, AnyRef] {

  private val log = LoggerFactory.getLogger(classOf[TotalsProcessor])
  private val retentionMs = retention.toMillis
  private var context: ProcessorContext[AnyRef, AnyRef] = _
  private var totals: KeyValueStore[String, AccountTotal] = _
  private var seen: KeyValueStore[Bytes, Array[Byte]] = _

  /** Binds the processor to its task's context and stores. */
  override def init(context: ProcessorContext[AnyRef, AnyRef]): Unit = {
    this.context = context
    this.totals = context.getStateStore[KeyValueStore[String, AccountTotal]](stores.totals)
    this.seen = context.getStateStore[KeyValueStore[Bytes, Array[Byte]]](stores.seenIds)
  }

  /** Totals a valid transaction; sends anything else to the DLQ with the reason in its headers. */
  override def process(record: Record[Array[Byte], Array[Byte]]): Unit = {
    val meta = context.recordMetadata()
    val partition = if (meta.isPresent) meta.get.partition else -1
    decoder.decode(record.key, record.value, partition) match {
      case Right(tx) => count(tx, record.timestamp)
      case Left(reason) =>
        val (topic, offset) = if (meta.isPresent) (meta.get.topic, meta.get.offset) else ("unknown", -1L)
        val letter = deadLetters.letter(record, reason, topic, partition, offset)
        context.forward(letter.asInstanceOf[Record[AnyRef, AnyRef]], dlqChild)
    }
  }

  private def count(tx: Transaction, timestamp: Long): Unit = {
    val account = tx.accountNumber
    val key = TotalsProcessor.seenKey(account, tx.transactionId)
    val now = context.currentSystemTimeMs()
    val firstSeen = seen.get(key)
    if (firstSeen != null && SeenIdStore.timeOf(firstSeen) > now - retentionMs) {
      val n = counters.duplicates.incrementAndGet()
      log.warn(
        s"dropping duplicate transaction_id=${tx.transactionId} account=$account $source " +
          s"first counted at ${Instant.ofEpochMilli(SeenIdStore.timeOf(firstSeen))} (duplicates dropped so far: $n)"
      )
      return
    }
    seen.put(key, SeenIdStore.encodeTime(now))
    val previous = totals.get(account)
    val amount = Amounts.fromDouble(tx.amount)
    // The store keeps the formatted text, which parses back to the same exact BigDecimal.
    val (sum, count) =
      if (previous == null) (amount, 1L)
      else (Amounts.parse(previous.total).add(amount), previous.transactionCount + 1)
    val total = Amounts.format(sum)
    val updated = AccountTotal(
      accountNumber = account,
      total = total,
      transactionCount = count,
      lastTransactionId = tx.transactionId,
      lastTransactionDatetime = tx.transactionDatetime
    )
    totals.put(account, updated)
    counters.counted.incrementAndGet()
    // The line first: the sink may rely on the total's send completing after it (see LinesFlushedOnAck).
    lineSink.write(s"($account, $total)")
    // Fresh headers: the input's headers describe the transaction, not the running total.
    context.forward(new Record[AnyRef, AnyRef](account, updated, timestamp, new RecordHeaders()), totalsChild)
  }

  private def source: String = {
    val meta = context.recordMetadata()
    if (meta.isPresent) s"topic=${meta.get.topic} partition=${meta.get.partition} offset=${meta.get.offset}"
    else "topic=? partition=? offset=?"
  }
}

/** Keys and store names of the totals step. */
object TotalsProcessor {

  /** The names of the two stores the processor uses. */
  final case class Stores(totals: String, seenIds: String)

  /** The seen-store key of a transaction: its id, a NUL, its account.
    *
    * The id leads so that time-ordered ids (UUIDv7, as our producer makes) arrive in key order:
    * a new one sorts after every stored key, which the store answers from memory.
    */
  def seenKey(account: String, transactionId: String): Bytes =
    Bytes.wrap(s"$transactionId\u0000$account".getBytes(UTF_8))
}
