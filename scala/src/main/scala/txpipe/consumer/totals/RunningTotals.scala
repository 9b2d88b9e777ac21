package txpipe.consumer.totals

import java.math.BigDecimal
import java.util

import org.apache.kafka.streams.state.KeyValueStore
import txpipe.v1.AccountTotal

/** The running sums of a task's most recently counted accounts, parsed, in front of its totals store.
  *
  * The store holds each total as `AccountTotal` bytes; reading and parsing them back for every
  * transaction of a busy account costs more than the sum itself. This keeps the last
  * `capacity` accounts' sums and counts as they were last written to the store. It is only ever
  * filled from, and in step with, the store, and it must be dropped whenever the store may go back
  * to an earlier state: Kafka Streams rolls a task's stores back only after closing its
  * processors, and calls `init` again before reusing them, so the processor drops it in both.
  */
final class RunningTotals(totals: KeyValueStore[String, Array[Byte]], capacity: Int = RunningTotals.DefaultCapacity) {

  private val recent = new util.LinkedHashMap[String, RunningTotals.Sum](capacity * 4 / 3 + 1, 0.75f, true) {
    override def removeEldestEntry(eldest: util.Map.Entry[String, RunningTotals.Sum]): Boolean = size > capacity
  }

  /** `account`'s sum and count so far: nothing counted yet is a zero sum of no transactions. */
  def current(account: String): RunningTotals.Sum = {
    val known = recent.get(account)
    if (known != null) known
    else {
      val stored = totals.get(account)
      if (stored == null) RunningTotals.Empty
      else {
        val total = AccountTotal.parseFrom(stored)
        RunningTotals.Sum(Amounts.parse(total.total), total.transactionCount)
      }
    }
  }

  /** Writes `encoded`, the AccountTotal of `sum`, to the store and remembers `sum` for `account`. */
  def put(account: String, sum: RunningTotals.Sum, encoded: Array[Byte]): Unit = {
    totals.put(account, encoded)
    recent.put(account, sum)
    ()
  }

  /** Forgets every remembered sum; the store still holds them all. */
  def clear(): Unit = recent.clear()
}

/** Values and sizes of [[RunningTotals]]. */
object RunningTotals {

  /** Accounts remembered per task: a few MiB at most, and every account of a typical workload. */
  val DefaultCapacity = 10000

  /** An account's exact sum and the number of transactions in it. */
  final case class Sum(total: BigDecimal, count: Long) {

    /** This sum with one more transaction of `amount`. */
    def plus(amount: BigDecimal): Sum = if (count == 0) Sum(amount, 1L) else Sum(total.add(amount), count + 1)
  }

  /** The sum of an account with no transaction counted. */
  val Empty: Sum = Sum(null, 0L)
}
