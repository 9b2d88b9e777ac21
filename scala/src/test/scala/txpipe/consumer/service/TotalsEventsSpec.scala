package txpipe.consumer.service

import java.util.concurrent.atomic.AtomicLong

import scala.collection.mutable

import com.fasterxml.jackson.databind.ObjectMapper
import org.scalatest.funsuite.AnyFunSuite

class TotalsEventsSpec extends AnyFunSuite {

  private val mapper = new ObjectMapper()

  private final class FixedView(var totals: Seq[CommittedTotal]) extends TotalsView {
    override def size: Int = totals.size
    override def catchingUpPartitions: Int = 0
    override def top(n: Int): Seq[CommittedTotal] = CommittedTotals.top(totals, n)
  }

  private final class Sink(capacity: Int) extends EventSink {
    val events = mutable.Buffer.empty[String]
    var closed = false
    override def offer(event: String): Boolean = if (events.size < capacity) { events += event; true }
    else false
    override def close(): Unit = closed = true
  }

  private def changes(event: String): Seq[(String, String)] = {
    val a = mapper.readTree(event).get("changes")
    (0 until a.size).map(i => a.get(i).get("account").asText -> a.get(i).get("total").asText)
  }

  test("changes between two events are coalesced per account: the latest total only") {
    val c = new ChangeCoalescer
    c.add(CommittedTotal("A", "1.00", 1))
    c.add(CommittedTotal("B", "5.00", 1))
    c.add(CommittedTotal("A", "3.00", 2))
    assert(c.size == 2)
    assert(c.drain(10).map(t => t.account -> t.total).toMap == Map("A" -> "3.00", "B" -> "5.00"))
    assert(c.size == 0 && c.drain(10).isEmpty)
  }

  test("at most maxChanges per event; the rest wait, still coalesced, for the next") {
    val c = new ChangeCoalescer
    (1 to 5).foreach(i => c.add(CommittedTotal(s"A$i", "1.00", 1)))
    assert(c.drain(3).size == 3 && c.size == 2)
    c.add(CommittedTotal("A1", "2.00", 2))
    assert(c.drain(10).size == 3)
  }

  test("an event carries the rate, the top accounts by absolute total and the coalesced changes") {
    val view = new FixedView(Seq(CommittedTotal("A", "10.00", 1), CommittedTotal("B", "-50.00", 2), CommittedTotal("C", "7.00", 1)))
    val counted = new AtomicLong(0)
    var now = 0L
    val events = new TotalsEvents(view, () => counted.get, topN = 2, clock = () => now)
    val sink = new Sink(100)
    assert(events.subscribe(sink) && sink.events.size == 1)
    events.changed(CommittedTotal("A", "9.00", 1))
    events.changed(CommittedTotal("A", "10.00", 1))
    counted.set(500)
    now = 500000000L // 0.5 s later: 1000 records a second
    events.tick()
    assert(sink.events.size == 2)
    val e = mapper.readTree(sink.events.last)
    assert(e.get("rate").asDouble == 1000.0 && e.get("counted").asLong == 500 && e.get("accounts").asInt == 3)
    assert(e.get("top").size == 2 && e.get("top").get(0).get("account").asText == "B" &&
      e.get("top").get(0).get("total").asText == "-50.00")
    assert(changes(sink.events.last) == Seq("A" -> "10.00"))
    // Nothing changed and it has not been quiet long: no event.
    now += 500000000L
    events.tick()
    assert(sink.events.size == 2)
  }

  test("a subscriber that does not keep up is dropped and closed; the others go on") {
    val events = new TotalsEvents(new FixedView(Nil), () => 0L)
    val slow = new Sink(2)
    val fast = new Sink(100)
    events.subscribe(slow)
    events.subscribe(fast)
    (1 to 5).foreach { i =>
      events.changed(CommittedTotal(s"A$i", "1.00", 1))
      events.tick()
    }
    assert(slow.closed && events.subscriberCount == 1)
    assert(!fast.closed && fast.events.size == 6)
  }

  test("subscribers are bounded") {
    val events = new TotalsEvents(new FixedView(Nil), () => 0L, maxSubscribers = 2)
    assert(events.subscribe(new Sink(10)) && events.subscribe(new Sink(10)))
    assert(!events.subscribe(new Sink(10)))
  }

  test("top accounts: largest absolute totals first, ties by name, bounded") {
    val all = Seq(
      CommittedTotal("A", "1.00", 1),
      CommittedTotal("B", "-3.00", 1),
      CommittedTotal("C", "3.00", 1),
      CommittedTotal("D", "0.10", 1),
      CommittedTotal("E", "100000000000000000000.01", 1)
    )
    assert(CommittedTotals.top(all, 3).map(_.account) == Seq("E", "B", "C"))
    assert(CommittedTotals.top(all, 10).size == 5 && CommittedTotals.top(all, 0).isEmpty)
  }
}
