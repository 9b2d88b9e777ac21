package txpipe.consumer.internal

import java.util.concurrent.atomic.AtomicReference

import org.apache.kafka.streams.processor.{StateStore, StateStoreContext}
import org.apache.kafka.streams.state.internals.{CacheFlushListener, CachedStateStore}
import org.scalatest.funsuite.AnyFunSuite

/** One flush of every task's caches per round of writes, on the thread that owns the tasks. */
class ThreadCommitGroupSpec extends AnyFunSuite {

  private final class CountingStore(val name: String) extends StateStore with CachedStateStore[Array[Byte], Array[Byte]] {
    var flushes = 0
    var open = true
    override def flushCache(): Unit = flushes += 1
    override def clearCache(): Unit = ()
    override def setFlushListener(l: CacheFlushListener[Array[Byte], Array[Byte]], sendOldValues: Boolean): Boolean = false
    override def init(context: StateStoreContext, root: StateStore): Unit = ()
    override def flush(): Unit = ()
    override def close(): Unit = open = false
    override def persistent(): Boolean = false
    override def isOpen: Boolean = open
  }

  test("after writes, the first flushAll flushes every task's stores and the next ones flush nothing") {
    val group = new ThreadCommitGroup
    val stores = (1 to 6).flatMap(t => Seq(new CountingStore(s"totals-$t"), new CountingStore(s"ids-$t")))
    stores.grouped(2).foreach(pair => group.join(pair: _*))
    group.flushAll()
    assert(stores.forall(_.flushes == 0), "nothing was written, so nothing is flushed")
    group.wrote()
    (1 to 6).foreach(_ => group.flushAll()) // each task's turn before one commit
    assert(stores.map(_.flushes) == Seq.fill(12)(1))
    group.wrote()
    group.flushAll()
    assert(stores.map(_.flushes) == Seq.fill(12)(2))
  }

  test("stores that leave, or were closed without leaving, are not flushed again") {
    val group = new ThreadCommitGroup
    val (a, b, c) = (new CountingStore("a"), new CountingStore("b"), new CountingStore("c"))
    group.join(a, b, c)
    group.leave(a)
    c.close()
    group.wrote()
    group.flushAll()
    assert((a.flushes, b.flushes, c.flushes) == ((0, 1, 0)))
    assert(group.size == 1)
  }

  test("each thread has its own group") {
    val other = new AtomicReference[ThreadCommitGroup]()
    val t = new Thread(() => other.set(ThreadCommitGroup.current))
    t.start()
    t.join(10000)
    assert(other.get != null, "the other thread did not report its group within 10 s")
    assert(ThreadCommitGroup.current eq ThreadCommitGroup.current)
    assert(!(other.get eq ThreadCommitGroup.current))
  }
}
