package txpipe.consumer.internal

import txpipe.v1.Transaction

/** The outcome of decoding one input record. */
sealed trait Decoded

/** The two outcomes. */
object Decoded {

  /** A valid transaction, to be totalled. */
  final case class Accepted(transaction: Transaction) extends Decoded

  /** A record for the DLQ; `original` is the record value exactly as read (null stays null). */
  final case class Rejected(original: Array[Byte]) extends Decoded
}
