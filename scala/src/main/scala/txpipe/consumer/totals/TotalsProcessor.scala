package txpipe.consumer.totals

import java.nio.charset.StandardCharsets.{US_ASCII, UTF_8}
import java.security.MessageDigest
import java.time.{Duration, Instant}

import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.processor.PunctuationType
import org.apache.kafka.streams.processor.api.{Processor, ProcessorContext, Record}
import org.apache.kafka.streams.state.KeyValueStore
import org.slf4j.LoggerFactory
import txpipe.consumer.decoding.{DecodedTransaction, TransactionDecoder}
import txpipe.consumer.output.DeadLetters
import txpipe.consumer.routing.{AccountPlacement, Origin}
import txpipe.consumer.storage.SeenMark
import txpipe.consumer.Counters
import txpipe.consumer.output.LineSink

/** The one step of the topology: decodes each input record, adds a valid transaction to its
  * account's exact running total once per (account_number, transaction_id), and sends the new
  * total to `children.totals` and its line to `lineSink`; anything else goes to `children.dlq`.
  *
  * A task owns the accounts whose murmur2 partition is its own. A valid transaction read from
  * the input on another partition (another partitioner, another key, no key) is sent on, keyed
  * by account, to `children.byAccount`, whose topic feeds this same processor on the owner's
  * partition: records already in place never leave the task.
  *
  * Both stores belong to the record's task and are changelogged, so under exactly_once_v2 a
  * transaction's "seen" mark and its effect on the total commit together. A copy arriving more
  * than `retention` after the first is counted again; a copy within it is dropped if its
  * content is the first one's, and dead-lettered as a conflict if not.
  *
  * Each account's latest total goes to `children.totals` every `publishInterval` (see
  * [[LatestTotals]]), not once per transaction. A line goes to the sink before the record's id
  * is stored, whose changelog write is sent at once, so a sink that writes its lines out when the
  * producer completes a send has written it before the Kafka transaction holding the record can
  * commit.
  */
final class TotalsProcessor(
    decoder: TransactionDecoder,
    deadLetters: DeadLetters,
    lineSink: LineSink,
    retention: Duration,
    counters: Counters,
    publishInterval: Duration,
    stores: TotalsProcessor.Stores,
    topics: TotalsProcessor.Topics,
    children: TotalsProcessor.Children
) extends Processor[Array[Byte], Array[Byte], AnyRef, AnyRef] {

  private val log = LoggerFactory.getLogger(classOf[TotalsProcessor])
  private val retentionMs = retention.toMillis
  private val sha256 = MessageDigest.getInstance("SHA-256")
  private var context: ProcessorContext[AnyRef, AnyRef] = _
  private var totals: KeyValueStore[String, Array[Byte]] = _
  private var seen: KeyValueStore[Bytes, Array[Byte]] = _
  private var latest: LatestTotals = _
  private var running: RunningTotals = _

  /** Binds the processor to its task's context and stores. */
  override def init(context: ProcessorContext[AnyRef, AnyRef]): Unit = {
    this.context = context
    this.totals = context.getStateStore[KeyValueStore[String, Array[Byte]]](stores.totals)
    this.seen = context.getStateStore[KeyValueStore[Bytes, Array[Byte]]](stores.seenIds)
    this.latest = new LatestTotals(context, totals, children.totals)
    // New on every init: Streams closes the processor before it rolls the task's stores back.
    this.running = new RunningTotals(totals)
    context.schedule(publishInterval, PunctuationType.WALL_CLOCK_TIME, now => latest.publish(now))
    ()
  }

  /** Totals a valid transaction on its owner's partition, moves it there if it is elsewhere, and
    * sends anything else to the DLQ with the reason in its headers. */
  override def process(record: Record[Array[Byte], Array[Byte]]): Unit = {
    val meta = context.recordMetadata()
    val here = if (meta.isPresent) Origin(meta.get.topic, meta.get.partition, meta.get.offset) else Origin("unknown", -1, -1L)
    val moved = here.topic == topics.byAccount
    // A moved record was checked on the input; its reasons name the input record.
    val origin = if (moved) Origin.fromHeaders(record.headers).getOrElse(here) else here
    decoder.decode(record.key, record.value) match {
      case Left(reason) => deadLetter(record, reason, origin)
      case Right(decoded) =>
        // Encoded once: the placement, the id's key, the line and the stored total all take these bytes.
        val account = decoded.transaction.accountNumber.getBytes(UTF_8)
        if (moved || here.partition < 0 || AccountPlacement.ownerOfKey(account, topics.partitions) == here.partition)
          count(record, decoded, account, origin)
        else {
          // Only the origin travels: input headers could make the moved record too large to write.
          val keyed = new Record[AnyRef, AnyRef](account, record.value, record.timestamp, origin.toHeaders)
          context.forward(keyed, children.byAccount)
          counters.moved.incrementAndGet()
        }
    }
  }

  /** Drops the sums remembered in memory: the task's stores may be rolled back before a next init. */
  override def close(): Unit = if (running != null) running.clear()

  private def deadLetter(record: Record[Array[Byte], Array[Byte]], reason: String, origin: Origin): Unit = {
    val letter = deadLetters.letter(record, reason, origin.topic, origin.partition, origin.offset)
    context.forward(letter.asInstanceOf[Record[AnyRef, AnyRef]], children.dlq)
  }

  private def count(
      record: Record[Array[Byte], Array[Byte]],
      decoded: DecodedTransaction,
      accountBytes: Array[Byte],
      origin: Origin): Unit = {
    val tx = decoded.transaction
    val account = tx.accountNumber
    val idBytes = tx.transactionId.getBytes(UTF_8)
    val key = TotalsProcessor.seenKey(accountBytes, idBytes)
    val now = context.currentSystemTimeMs()
    val digest = TotalsProcessor.contentDigest(sha256, record.value, decoded)
    val stored = seen.get(key)
    if (stored != null) {
      val first = SeenMark.decode(stored)
      if (first.firstSeenMs > now - retentionMs) {
        val firstAt = Instant.ofEpochMilli(first.firstSeenMs)
        val firstWhere =
          if (first.partition >= 0) s" from partition ${first.partition} offset ${first.offset} of ${topics.input}" else ""
        if (first.sameContent(digest)) {
          val n = counters.duplicates.incrementAndGet()
          log.warn(
            s"dropping duplicate transaction_id=${TransactionDecoder.printable(tx.transactionId)} account=${TransactionDecoder.printable(account)} " +
              s"$origin, first counted$firstWhere at $firstAt (duplicates dropped so far: $n)")
        } else
          deadLetter(
            record,
            s"conflicting duplicate: transaction_id '${TransactionDecoder.printable(tx.transactionId)}' " +
              s"of account '${TransactionDecoder.printable(account)}' was counted$firstWhere at $firstAt " +
              "with different content; this copy was not counted",
            origin
          )
        return
      }
    }
    val sum = running.current(account).plus(Amounts.fromDouble(tx.amount))
    // Plain decimal text is ASCII.
    val total = Amounts.format(sum.total).getBytes(US_ASCII)
    // The line before the id's changelog write: the sink may rely on that send completing after it
    // (see LinesFlushedOnAck).
    lineSink.write(TotalsProcessor.line(accountBytes, total))
    seen.put(key, SeenMark.encode(now, digest, origin.partition, origin.offset))
    // Encoded once: the store and the totals topic hold the same bytes.
    val encoded = AccountTotalBytes.encode(accountBytes, total, sum.count, idBytes, tx.transactionDatetime)
    running.put(account, sum, encoded)
    latest.changed(account, encoded, record.timestamp)
    counters.counted.incrementAndGet()
  }
}

/** Keys and names of the totals step. */
object TotalsProcessor {

  /** The names of the two stores the processor uses. */
  final case class Stores(totals: String, seenIds: String)

  /** The input topic, the topic records are moved through to their owner, and the partition count of both. */
  final case class Topics(input: String, byAccount: String, partitions: Int)

  /** The names of the processor's three sinks. */
  final case class Children(totals: String, dlq: String, byAccount: String)

  /** The digest of a transaction's content, compared between copies of one id: that of its
    * canonical protobuf bytes, without unknown fields (a newer schema's additions). A payload with
    * no unknown fields and exactly the canonical size is those bytes as every protobuf serializer
    * writes them (fields in number order, defaults left out), so it is digested where it lies;
    * anything else is encoded again first.
    */
  def contentDigest(sha256: MessageDigest, value: Array[Byte], decoded: DecodedTransaction): Array[Byte] = {
    val tx = decoded.transaction
    val payloadBytes = value.length - decoded.payloadOffset
    if (tx.unknownFields == scalapb.UnknownFieldSet.empty && payloadBytes == tx.serializedSize)
      SeenMark.digestOf(sha256, value, decoded.payloadOffset, payloadBytes)
    else {
      val canonical = tx.withUnknownFields(scalapb.UnknownFieldSet.empty).toByteArray
      SeenMark.digestOf(sha256, canonical, 0, canonical.length)
    }
  }

  /** The seen-store key of a transaction: its id, a NUL, its account.
    *
    * The id leads so that time-ordered ids (UUIDv7, as our producer makes) arrive in key order:
    * a new one sorts after every stored key, which the store answers from memory.
    */
  def seenKey(account: String, transactionId: String): Bytes =
    seenKey(account.getBytes(UTF_8), transactionId.getBytes(UTF_8))

  /** [[seenKey]] of the UTF-8 bytes of an account and an id. */
  def seenKey(account: Array[Byte], transactionId: Array[Byte]): Bytes = {
    val key = new Array[Byte](transactionId.length + 1 + account.length)
    System.arraycopy(transactionId, 0, key, 0, transactionId.length)
    key(transactionId.length) = 0
    System.arraycopy(account, 0, key, transactionId.length + 1, account.length)
    Bytes.wrap(key)
  }

  /** The UTF-8 line "(account, total)" of an account's and a total's bytes. */
  def line(account: Array[Byte], total: Array[Byte]): Array[Byte] = {
    val line = new Array[Byte](account.length + total.length + 4)
    line(0) = '('
    System.arraycopy(account, 0, line, 1, account.length)
    line(account.length + 1) = ','
    line(account.length + 2) = ' '
    System.arraycopy(total, 0, line, account.length + 3, total.length)
    line(line.length - 1) = ')'
    line
  }
}
