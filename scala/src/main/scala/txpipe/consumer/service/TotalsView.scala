package txpipe.consumer.service

/** What the live events read of the committed totals. */
trait TotalsView {

  /** How many accounts are known. */
  def size: Int

  /** Partitions still being read up to where they were when first followed. */
  def catchingUpPartitions: Int

  /** The `n` accounts with the largest absolute totals, largest first. */
  def top(n: Int): Seq[CommittedTotal]
}
