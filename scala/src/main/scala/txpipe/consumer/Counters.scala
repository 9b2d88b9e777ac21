package txpipe.consumer

import java.util.concurrent.atomic.AtomicLong

import txpipe.consumer.output.DlqReason

/** Process-wide counts of what the topology did, for the periodic log line.
  *
  * In-memory and per process: after a crash, records reprocessed from the last commit are
  * counted again here (the totals are not; they live in the changelogged stores).
  */
final class Counters {
  val counted = new AtomicLong
  val duplicates = new AtomicLong
  val rejected = new AtomicLong
  val expiredIds = new AtomicLong
  val moved = new AtomicLong

  /** Dead letters by [[DlqReason]] category: a fixed set of keys, so a metric over it stays bounded. */
  val rejectedByReason: Map[String, AtomicLong] = DlqReason.All.map(_ -> new AtomicLong).toMap

  /** Counts one dead letter for `reason` (the total and its category). */
  def rejectedFor(reason: String): Long = {
    rejectedByReason(DlqReason.of(reason)).incrementAndGet()
    rejected.incrementAndGet()
  }

  /** One line with every count. */
  def summary: String =
    s"counted=${counted.get} duplicates_dropped=${duplicates.get} rejected_to_dlq=${rejected.get} " +
      s"dedupe_ids_expired=${expiredIds.get} moved_to_owner=${moved.get}"
}
