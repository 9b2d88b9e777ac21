package txpipe.consumer.decoding

import java.nio.charset.StandardCharsets.UTF_8

/** The largest record and fields the consumer accepts; anything larger goes to the DLQ.
  *
  * A transaction is about 150 bytes. The limits keep every record the consumer writes for a
  * transaction (its total, its id's changelog entry, its line) far below Kafka's record limit,
  * whatever a producer sends.
  */
object FieldLimits {

  /** Key plus value of an input record, in bytes. */
  val MaxRecordBytes: Int = 16 * 1024

  /** account_number, in UTF-8 bytes. */
  val MaxAccountBytes: Int = 128

  /** transaction_id, in UTF-8 bytes. */
  val MaxTransactionIdBytes: Int = 128

  /** transaction_reference, in UTF-8 bytes. */
  val MaxReferenceBytes: Int = 512

  /** The UTF-8 length of `s` when it exceeds `limit`, else None; short strings are never encoded. */
  def over(s: String, limit: Int): Option[Int] =
    // A char is at most 3 UTF-8 bytes (a surrogate pair, two chars, is 4).
    if (s.length.toLong * 3 <= limit) None
    else {
      val n = s.getBytes(UTF_8).length
      if (n > limit) Some(n) else None
    }
}
