package txpipe.consumer.totals

import java.util

import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.streams.processor.api.{ProcessorContext, Record}
import org.apache.kafka.streams.state.KeyValueStore

/** Sends each account's latest total to the totals sink once per publication, not once per
  * transaction: the topic is compacted, so only an account's latest total is kept there anyway.
  *
  * Totals changed since the last publication wait in memory, one per account. They are not part of
  * the task's state, so a task that starts (after a crash, a rebalance or a restart) first sends on
  * every total of its store, a bounded slice per publication: whatever a previous owner changed and
  * committed but had not yet sent reaches the topic, and a value read from the store is always its
  * latest, so no older total can follow a newer one.
  */
final class LatestTotals(
    context: ProcessorContext[AnyRef, AnyRef],
    totals: KeyValueStore[String, Array[Byte]],
    sink: String,
    sliceSize: Int = LatestTotals.DefaultSliceSize
) {

  // One slot per account, refilled in place: an account changes many times between publications.
  private val changed = new util.LinkedHashMap[String, LatestTotals.Slot]()
  // The next account of the store to send on at start-up; None once the whole store has been sent.
  private var resendFrom: Option[String] = Some("")

  /** Remembers `encoded` as `account`'s latest total, to send at the next publication. */
  def changed(account: String, encoded: Array[Byte], timestamp: Long): Unit = {
    val slot = changed.get(account)
    if (slot == null) changed.put(account, new LatestTotals.Slot(encoded, timestamp))
    else {
      slot.encoded = encoded
      slot.timestamp = timestamp
    }
  }

  /** The accounts waiting for the next publication. */
  def pending: Int = changed.size

  /** Sends the next slice of the start-up resend, then every total changed since the last publication. */
  def publish(now: Long): Unit = {
    resendFrom.foreach(from => resendFrom = resendSlice(from, now))
    val it = changed.entrySet().iterator()
    while (it.hasNext) {
      val e = it.next()
      context.forward(new Record[AnyRef, AnyRef](e.getKey, e.getValue.encoded, e.getValue.timestamp, new RecordHeaders()), sink)
    }
    changed.clear()
  }

  private def resendSlice(from: String, now: Long): Option[String] = {
    // A slice at a time, so that a store of millions of accounts never holds the thread for long.
    val range = totals.range(from, null)
    try {
      var sent = 0
      while (range.hasNext && sent < sliceSize) {
        val kv = range.next()
        // Those changed since start-up go out below with their own record's time.
        if (!changed.containsKey(kv.key))
          context.forward(new Record[AnyRef, AnyRef](kv.key, kv.value, now, new RecordHeaders()), sink)
        sent += 1
      }
      if (range.hasNext) Some(range.peekNextKey()) else None
    } finally range.close()
  }
}

/** Sizes of the totals publication. */
object LatestTotals {

  /** Stored totals sent on per publication while a task that has just started resends its store. */
  val DefaultSliceSize = 10000

  private final class Slot(var encoded: Array[Byte], var timestamp: Long)
}
