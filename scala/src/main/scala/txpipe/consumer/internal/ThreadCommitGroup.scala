package txpipe.consumer.internal

import java.util

import org.apache.kafka.streams.processor.StateStore
import org.apache.kafka.streams.state.internals.CachedStateStore

/** The cached stores of every task on one stream thread, flushed together at the first task's
  * turn before a commit.
  *
  * Before a commit Kafka Streams (4.2) takes a thread's tasks one at a time: it flushes the
  * task's caches, which sends their changelog records, then flushes the producer and waits for
  * every record in flight. With six tasks that made six waits for the broker in a row while
  * processing stood still: each commit held records back by 20-40 ms at 10,000 tx/s, and those
  * records made the end-to-end p99. When the first task's turn flushes every task's caches, its
  * wait covers them all and the other tasks' turns find nothing to send.
  *
  * Sending another task's changelog records early is safe: the tasks of a thread share one
  * producer, under exactly_once_v2 one transaction, and a task whose records are in that
  * transaction is committed with it (as with a store that logs every write at once). Each task's
  * own flush still follows, so nothing depends on this group for correctness, only for speed.
  *
  * Used only from its own thread: Streams builds, runs and commits a task on its stream thread.
  */
final class ThreadCommitGroup private[internal] () {
  private val members = new util.ArrayList[StateStore]()
  private var written = false

  /** Adds stores whose caches a commit of this thread must flush. */
  def join(stores: StateStore*): Unit = stores.foreach(members.add)

  /** Removes stores of a task leaving this thread. */
  def leave(stores: StateStore*): Unit = stores.foreach(s => members.remove(s))

  /** Marks that a member may hold unsent changes: a record was processed since the last flushAll. */
  def wrote(): Unit = written = true

  /** The number of stores in the group. */
  def size: Int = members.size

  /** Flushes the cache of every open member, once per round of writes; closed members are dropped. */
  def flushAll(): Unit =
    if (written) {
      written = false
      val it = members.iterator()
      while (it.hasNext) it.next() match {
        case s if !s.isOpen => it.remove() // a task closed without closing its processor
        case c: CachedStateStore[_, _] => c.flushCache()
        case _ => ()
      }
    }
}

object ThreadCommitGroup {
  private val perThread = ThreadLocal.withInitial[ThreadCommitGroup](() => new ThreadCommitGroup)

  /** The group of the calling thread. */
  def current: ThreadCommitGroup = perThread.get()
}
