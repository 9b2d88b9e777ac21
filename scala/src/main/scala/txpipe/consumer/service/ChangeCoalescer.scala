package txpipe.consumer.service

import java.util.concurrent.ConcurrentHashMap

/** Totals changed since the last event, one per account: a busy account changes many times between
  * two events but is sent once, with its latest total. Safe to add to from one thread while another drains. */
final class ChangeCoalescer {

  private val pending = new ConcurrentHashMap[String, CommittedTotal]()

  /** Remembers `t` as its account's latest change. */
  def add(t: CommittedTotal): Unit = { pending.put(t.account, t); () }

  /** Takes up to `max` pending changes (the rest stay for the next event). */
  def drain(max: Int): Seq[CommittedTotal] = {
    val out = Vector.newBuilder[CommittedTotal]
    val it = pending.keySet().iterator()
    var n = 0
    while (it.hasNext && n < max) {
      val account = it.next()
      // remove returns the latest value put for the account, never a superseded one.
      val t = pending.remove(account)
      if (t != null) { out += t; n += 1 }
    }
    out.result()
  }

  /** How many accounts have changes waiting. */
  def size: Int = pending.size
}
