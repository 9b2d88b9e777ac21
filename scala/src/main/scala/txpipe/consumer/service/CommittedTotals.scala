package txpipe.consumer.service

import java.time.Duration
import java.util.Properties
import java.util.concurrent.{ConcurrentHashMap, ConcurrentSkipListMap}
import java.util.concurrent.atomic.AtomicLong

import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.consumer.{CloseOptions, ConsumerConfig, KafkaConsumer}
import org.apache.kafka.common.TopicPartition
import org.apache.kafka.common.errors.{RetriableException, WakeupException}
import org.apache.kafka.common.serialization.{ByteArrayDeserializer, StringDeserializer}
import org.slf4j.LoggerFactory
import txpipe.consumer.routing.AccountPlacement
import txpipe.v1.AccountTotal

/** Every account's latest committed total, read from the compacted totals topic with
  * `read_committed`: a value here was committed by the consumer's Kafka transaction, so no crash
  * can roll it back (the live state store, under exactly-once, can hold writes that a crash undoes).
  *
  * It follows every partition of the topic, manually assigned, without a group. A partition is
  * "catching up" until this reader reaches the end offset the partition had when it was first
  * assigned; until then its accounts may show older totals, so [[lookup]] refuses them.
  * `onChange` is called on the reading thread for each total read.
  */
final class CommittedTotals(
    clientSettings: Properties,
    val topic: String,
    onChange: CommittedTotal => Unit = _ => ()
) extends TotalsView
    with AutoCloseable {

  import CommittedTotals._

  private val log = LoggerFactory.getLogger(classOf[CommittedTotals])
  private val totals = new ConcurrentSkipListMap[String, CommittedTotal]()
  // Partition -> the offset it must reach to be caught up.
  private val catchingUp = new ConcurrentHashMap[Integer, java.lang.Long]()
  @volatile private var partitionCount = 0
  @volatile private var failure: Option[String] = None
  private val undecodable = new AtomicLong
  private val consumer = new KafkaConsumer[String, Array[Byte]](
    consumerProps(clientSettings),
    new StringDeserializer,
    new ByteArrayDeserializer
  )
  @volatile private var running = true
  private val thread = new Thread(() => readLoop(), s"txpipe-committed-totals")
  thread.setDaemon(true)

  /** Starts reading. */
  def start(): CommittedTotals = { thread.start(); this }

  /** The committed total of `account`, or why it cannot be given now. */
  def lookup(account: String): Lookup = {
    val n = partitionCount
    if (n == 0) return NotReady(failure.getOrElse(s"the reader of $topic has not started yet"))
    val partition = AccountPlacement.owner(account, n)
    if (catchingUp.containsKey(partition))
      return NotReady(s"partition $partition of $topic is still being read up to its committed end")
    Option(totals.get(account)).fold[Lookup](Missing)(Found)
  }

  /** Up to `limit` accounts in name order after `after` (from the first when empty), and whether more follow. */
  def page(after: String, limit: Int): (Seq[CommittedTotal], Boolean) = {
    val it = (if (after.isEmpty) totals else totals.tailMap(after, false)).values().iterator()
    val out = Vector.newBuilder[CommittedTotal]
    var n = 0
    while (it.hasNext && n < limit) { out += it.next(); n += 1 }
    (out.result(), it.hasNext)
  }

  /** The `n` accounts with the largest absolute totals, largest first (ties by name). */
  override def top(n: Int): Seq[CommittedTotal] = CommittedTotals.top(totals.values().asScala, n)

  /** How many accounts are known. */
  override def size: Int = totals.size

  /** Partitions still being read up to where they were when first followed. */
  override def catchingUpPartitions: Int = catchingUp.size

  /** True once every partition has been read up to its end as of when it was followed. */
  def caughtUp: Boolean = partitionCount > 0 && catchingUp.isEmpty

  /** Why the reader stopped, if it did. */
  def failed: Option[String] = if (thread.isAlive || !running) None else failure.orElse(Some(s"the reader of $topic stopped"))

  /** Records of the topic that were not an AccountTotal (skipped). */
  def skipped: Long = undecodable.get

  /** Stops reading. */
  override def close(): Unit = {
    running = false
    consumer.wakeup()
    thread.join(10000)
  }

  private def readLoop(): Unit =
    try {
      var nextRefresh = 0L
      while (running) {
        if (System.nanoTime() - nextRefresh >= 0) {
          try follow()
          catch {
            // The topic may not exist yet (the consumer creates it at start) or the cluster be slow: ask again.
            case e: org.apache.kafka.common.errors.TimeoutException => failure = Some(s"$topic: ${e.getMessage}")
          }
          // Soon while there is nothing to read yet, then now and then for added partitions.
          nextRefresh = System.nanoTime() + (if (partitionCount == 0) WaitForTopic else RefreshPartitions).toNanos
        }
        if (partitionCount == 0) {
          Thread.sleep(PollTimeout.toMillis)
        } else
          try {
            readOnce()
            failure = None
          } catch {
            // A broker that is slow or away for a moment: what was read stays, and reading goes on.
            case e: RetriableException =>
              if (failure.isEmpty) log.warn(s"reading $topic: $e; retrying")
              failure = Some(s"$topic: ${e.getMessage}")
          }
      }
    } catch {
      case _: WakeupException if !running => ()
      case _: InterruptedException if !running => ()
      case e: Exception =>
        failure = Some(s"the reader of $topic failed: $e")
        log.error(s"the reader of $topic stopped; accounts are answered 503 from now on: $e", e)
        partitionCount = 0
    } finally consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)))

  private def readOnce(): Unit = {
    val records = consumer.poll(PollTimeout)
    records.forEach { r =>
      if (r.key != null) {
        if (r.value == null) totals.remove(r.key)
        else
          try {
            val t = AccountTotal.parseFrom(r.value)
            val c = CommittedTotal(t.accountNumber, t.total, t.transactionCount)
            totals.put(r.key, c)
            onChange(c)
          } catch {
            case e: Exception =>
              if (undecodable.incrementAndGet() == 1)
                log.warn(s"$topic partition ${r.partition} offset ${r.offset} is not an AccountTotal ($e); skipped")
          }
      }
    }
    if (!catchingUp.isEmpty) {
      catchingUp.asScala.toSeq.foreach { case (p, end) =>
        if (consumer.position(new TopicPartition(topic, p), PollTimeout) >= end) catchingUp.remove(p)
      }
      if (catchingUp.isEmpty) log.info(s"read $topic up to its committed end: ${totals.size} accounts")
    }
  }

  // Assigns partitions that appeared since the last look; each is caught up once read to its current end.
  private def follow(): Unit = {
    val infos = consumer.partitionsFor(topic, WaitForTopic)
    if (infos == null || infos.isEmpty) {
      failure = Some(s"topic $topic has no partitions (yet)")
      return
    }
    val all = infos.asScala.map(i => new TopicPartition(topic, i.partition)).sortBy(_.partition)
    val current = consumer.assignment().asScala
    val added = all.filterNot(current.contains)
    if (added.nonEmpty) {
      val ends = consumer.endOffsets(added.asJava, MetadataTimeout).asScala
      ends.foreach { case (tp, end) => if (end > 0) catchingUp.put(tp.partition, end) }
      consumer.assign((current ++ added).asJava)
      consumer.seekToBeginning(added.asJava)
      partitionCount = all.size
      log.info(s"following ${added.size} partitions of $topic (read_committed) for the query service")
    }
  }
}

/** Settings and answers of the committed-totals view. */
object CommittedTotals {

  /** What [[CommittedTotals.lookup]] says. */
  sealed trait Lookup

  /** The account's committed total. */
  final case class Found(total: CommittedTotal) extends Lookup

  /** No committed total for the account. */
  case object Missing extends Lookup

  /** Cannot tell yet, and why. */
  final case class NotReady(reason: String) extends Lookup

  private val PollTimeout = Duration.ofMillis(200)
  private val MetadataTimeout = Duration.ofSeconds(10)
  private val RefreshPartitions = Duration.ofSeconds(30)
  private val WaitForTopic = Duration.ofSeconds(1)

  /** The reader's settings: the client settings given (bootstrap, security) and a committed-only, group-less reader. */
  def consumerProps(clientSettings: Properties): Properties = {
    val p = new Properties()
    p.putAll(clientSettings)
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false")
    p.remove(ConsumerConfig.GROUP_ID_CONFIG)
    p
  }

  /** The `n` totals of `all` with the largest absolute values, largest first, ties by account. */
  def top(all: Iterable[CommittedTotal], n: Int): Seq[CommittedTotal] = {
    val order: Ordering[CommittedTotal] =
      Ordering.by[CommittedTotal, java.math.BigDecimal](_.magnitude).reverse.orElseBy(_.account)
    // A bounded heap whose head is the smallest kept, so 100,000 accounts cost n entries of memory.
    val heap = new java.util.PriorityQueue[CommittedTotal](math.max(1, n), order.reverse)
    all.foreach { t =>
      heap.add(t)
      if (heap.size > n) heap.poll()
    }
    heap.asScala.toSeq.sorted(order)
  }
}
