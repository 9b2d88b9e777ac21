package txpipe.consumer.service

import java.util.concurrent.{CopyOnWriteArrayList, ScheduledExecutorService, TimeUnit}

import scala.jdk.CollectionConverters._

import org.slf4j.LoggerFactory

/** The live page's event stream: every `intervalMs` (when anything changed, or every few seconds
  * regardless, with the rate) one event goes to each subscriber with the top accounts and the
  * totals changed since the last event, coalesced per account and at most `maxChanges` of them.
  *
  * The view never waits for a subscriber: an event is offered to each subscriber's bounded queue,
  * and one whose queue is full is dropped (its page reconnects and starts from a fresh event).
  */
final class TotalsEvents(
    view: TotalsView,
    counted: () => Long,
    topN: Int = TotalsEvents.DefaultTop,
    maxChanges: Int = TotalsEvents.DefaultMaxChanges,
    maxSubscribers: Int = TotalsEvents.DefaultMaxSubscribers,
    clock: () => Long = () => System.nanoTime()
) {

  private val log = LoggerFactory.getLogger(classOf[TotalsEvents])
  private val changes = new ChangeCoalescer
  private val subscribers = new CopyOnWriteArrayList[EventSink]()
  private var lastCounted = counted()
  private var lastAt = clock()
  private var lastSentAt = clock() - TotalsEvents.QuietEventNanos
  @volatile private var rate = 0.0

  /** Records a changed total (called by the view's reader; never blocks). */
  def changed(t: CommittedTotal): Unit = changes.add(t)

  /** Adds a subscriber, unless there are already `maxSubscribers`; it gets a first event at once. */
  def subscribe(sink: EventSink): Boolean = synchronized {
    if (subscribers.size >= maxSubscribers) false
    else {
      if (sink.offer(event(Seq.empty))) subscribers.add(sink)
      true
    }
  }

  /** Removes a subscriber (its connection ended). */
  def unsubscribe(sink: EventSink): Unit = { subscribers.remove(sink); () }

  /** How many subscribers there are. */
  def subscriberCount: Int = subscribers.size

  /** Records counted per second, as of the last tick. */
  def countedPerSecond: Double = rate

  /** Builds and offers one event if anything changed (or it has been quiet for a while); drops slow subscribers. */
  def tick(): Unit = synchronized {
    val now = clock()
    val c = counted()
    val elapsed = (now - lastAt) / 1e9
    if (elapsed > 0) rate = (c - lastCounted) / elapsed
    lastCounted = c
    lastAt = now
    if (changes.size > 0 || now - lastSentAt >= TotalsEvents.QuietEventNanos) {
      lastSentAt = now
      val e = event(changes.drain(maxChanges))
      subscribers.asScala.foreach { s =>
        if (!s.offer(e)) {
          log.info("dropping a live-page subscriber that does not keep up")
          subscribers.remove(s)
          s.close()
        }
      }
    }
  }

  /** Runs [[tick]] every `intervalMs` on `scheduler`. */
  def start(scheduler: ScheduledExecutorService, intervalMs: Long = TotalsEvents.DefaultIntervalMs): Unit = {
    scheduler.scheduleWithFixedDelay(
      () =>
        try tick()
        catch { case e: Exception => log.warn(s"live event failed: $e") },
      intervalMs,
      intervalMs,
      TimeUnit.MILLISECONDS)
    ()
  }

  private def event(changed: Seq[CommittedTotal]): String =
    ServiceJson.event(lastCounted, rate, view.size, view.catchingUpPartitions, view.top(topN), changed)
}

/** Sizes of the live events. */
object TotalsEvents {

  /** Accounts in the page's table. */
  val DefaultTop = 50

  /** Changed totals per event; more wait for the next one. */
  val DefaultMaxChanges = 500

  /** Pages connected at once. */
  val DefaultMaxSubscribers = 32

  /** Events waiting per subscriber before it counts as too slow. */
  val DefaultQueueDepth = 16

  /** Milliseconds between events at most. */
  val DefaultIntervalMs = 500L

  private val QuietEventNanos = 5000000000L
}
