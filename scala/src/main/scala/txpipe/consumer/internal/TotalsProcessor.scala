package txpipe.consumer.internal

import java.nio.charset.StandardCharsets.UTF_8
import java.time.{Duration, Instant}

import scala.collection.mutable.ArrayBuffer

import org.apache.kafka.common.header.Headers
import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.streams.processor.PunctuationType
import org.apache.kafka.streams.processor.api.{Processor, ProcessorContext, Record}
import org.apache.kafka.streams.state.KeyValueStore
import org.slf4j.LoggerFactory
import txpipe.consumer.{Amounts, Counters, LineSink}
import txpipe.v1.{AccountTotal, Transaction}

/** Adds each transaction, keyed by its account, to that account's exact running total,
  * counting each (account_number, transaction_id) once.
  *
  * `seenStoreName` maps seenKey(account, id) to the wall-clock time (ms) it was first counted.
  * It lives in the same task as the totals store and is changelogged like it, so under
  * exactly_once_v2 "counted" and "seen" are committed in the same transaction. A wall-clock
  * punctuator forgets ids older than `retention`; a copy arriving later than that is counted
  * again (ids are kept at least `retention`, at most `retention` + one punctuation interval).
  *
  * New totals go to every child, or only to `totalsChild` when the node has other children.
  */
final class TotalsProcessor[K](
    storeName: String,
    lineSink: LineSink,
    seenStoreName: String,
    retention: Duration,
    counters: Counters,
    totalsChild: Option[String] = None
) extends Processor[K, Transaction, String, AccountTotal] {

  private val log = LoggerFactory.getLogger(classOf[TotalsProcessor[_]])
  private var context: ProcessorContext[String, AccountTotal] = _
  private var totals: KeyValueStore[String, AccountTotal] = _
  private var seen: KeyValueStore[String, java.lang.Long] = _
  private var commitGroup: ThreadCommitGroup = _

  /** Binds the processor to its task's context and stores, and schedules the expiry of old ids. */
  override def init(context: ProcessorContext[String, AccountTotal]): Unit = {
    this.context = context
    this.totals = context.getStateStore[KeyValueStore[String, AccountTotal]](storeName)
    this.seen = context.getStateStore[KeyValueStore[String, java.lang.Long]](seenStoreName)
    // Both stores send their changes when their caches are flushed: see ThreadCommitGroup.
    this.commitGroup = ThreadCommitGroup.current
    commitGroup.join(totals, seen)
    context.schedule(TotalsProcessor.expiryInterval(retention), PunctuationType.WALL_CLOCK_TIME, now => expire(now))
  }

  /** Leaves the thread's commit group. */
  override def close(): Unit = if (commitGroup != null) commitGroup.leave(totals, seen)

  /** Drops a duplicate; otherwise updates the store, forwards the new AccountTotal and writes the line. */
  override def process(record: Record[K, Transaction]): Unit = add(record.value, record.timestamp, record.headers)

  /** What process does, for a transaction another processor has already taken out of its record. */
  def add(tx: Transaction, timestamp: Long, headers: Headers): Unit = {
    val account = tx.accountNumber
    val key = TotalsProcessor.seenKey(account, tx.transactionId)
    // One pass through the store layers: marks the id seen now, or returns when it was first seen.
    val firstSeen = seen.putIfAbsent(key, now())
    commitGroup.wrote()
    if (firstSeen != null) {
      val n = counters.duplicates.incrementAndGet()
      log.warn(
        s"dropping duplicate transaction_id=${tx.transactionId} account=$account ${source(headers)} " +
          s"first counted at ${Instant.ofEpochMilli(firstSeen)} (duplicates dropped so far: $n)"
      )
      return
    }
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
    // Fresh headers: the input's headers describe the transaction, not the running total.
    val out = new Record(account, updated, timestamp, new RecordHeaders())
    totalsChild match {
      case Some(child) => context.forward(out, child)
      case None => context.forward(out)
    }
    lineSink.write(s"($account, $total)")
  }

  // The stream thread's clock moves once per poll loop, not per record: box it once per change
  // (boxing it per record was 2.6% of the stream thread).
  private var lastNowMs = Long.MinValue
  private var lastNow: java.lang.Long = _
  private def now(): java.lang.Long = {
    val ms = context.currentSystemTimeMs()
    if (ms != lastNowMs) {
      lastNowMs = ms
      lastNow = java.lang.Long.valueOf(ms)
    }
    lastNow
  }

  // Where the record came from: the input coordinates the decode step put in the headers before
  // a repartition, or else the record's own metadata (this task reads the input directly).
  private def source(headers: Headers): String =
    if (headers.lastHeader(SourceHeaders.Topic) != null) {
      def h(name: String): String = Option(headers.lastHeader(name)).map(x => new String(x.value, UTF_8)).getOrElse("?")
      s"topic=${h(SourceHeaders.Topic)} partition=${h(SourceHeaders.Partition)} offset=${h(SourceHeaders.Offset)}"
    } else {
      val meta = context.recordMetadata()
      if (meta.isPresent) s"topic=${meta.get.topic} partition=${meta.get.partition} offset=${meta.get.offset}"
      else "topic=? partition=? offset=?"
    }

  private def expire(now: Long): Unit = {
    val cutoff = now - retention.toMillis
    val old = ArrayBuffer.empty[String]
    val it = seen.all()
    try
      while (it.hasNext) {
        val kv = it.next()
        if (kv.value < cutoff) old += kv.key
      }
    finally it.close()
    old.foreach(seen.delete)
    if (old.nonEmpty) {
      counters.expiredIds.addAndGet(old.size.toLong)
      log.info(s"forgot ${old.size} transaction ids first counted before ${Instant.ofEpochMilli(cutoff)} (dedupe retention $retention)")
    }
  }
}

/** Keys and timing of the seen-ids store. */
object TotalsProcessor {

  /** The seen-store key: a transaction is identified by its account and its id.
    *
    * The id leads so that time-ordered ids (UUIDv7, as our producer makes) reach RocksDB in key
    * order: each insert lands at the end of the memtable, and a new id sorts after every stored
    * key, which FilteredRocksDbStore answers without entering RocksDB. A million-record drain
    * took 12-13 s instead of 13-14 s with the account first, and 14-15 s with random
    * (version-4) ids.
    */
  def seenKey(account: String, transactionId: String): String = s"$transactionId\u0000$account"

  /** How often old ids are dropped: a twentieth of the retention, between 1 s and 1 h. */
  def expiryInterval(retention: Duration): Duration = {
    val twentieth = retention.dividedBy(20)
    if (twentieth.compareTo(Duration.ofSeconds(1)) < 0) Duration.ofSeconds(1)
    else if (twentieth.compareTo(Duration.ofHours(1)) > 0) Duration.ofHours(1)
    else twentieth
  }
}
