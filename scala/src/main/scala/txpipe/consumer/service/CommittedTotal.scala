package txpipe.consumer.service

import java.math.BigDecimal

/** An account's total as committed to the totals topic: the decimal text exactly as the consumer wrote it. */
final case class CommittedTotal(account: String, total: String, transactions: Long) {

  /** The total's absolute value, for ordering accounts by size. */
  lazy val magnitude: BigDecimal = new BigDecimal(total).abs
}
