package txpipe.consumer

import java.util.concurrent.atomic.AtomicLong

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

  /** One line with every count. */
  def summary: String =
    s"counted=${counted.get} duplicates_dropped=${duplicates.get} rejected_to_dlq=${rejected.get} " +
      s"dedupe_ids_expired=${expiredIds.get} moved_to_owner=${moved.get}"
}
