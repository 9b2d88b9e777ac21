package txpipe.consumer.decoding

import com.google.protobuf.{CodedInputStream, InvalidProtocolBufferException}
import scala.util.control.NonFatal

import txpipe.consumer.registry.SchemaRegistryException
import txpipe.v1.Transaction

/** Turns a raw record into a valid Transaction, or a one-line reason why it is not one.
  *
  * The key plays no part: the account is read from the value, whatever the producer keyed by.
  */
final class TransactionDecoder(schemaCheck: SchemaCheck) {

  /** The transaction in this record, or Left(reason) for the dead-letter queue. */
  def decode(key: Array[Byte], value: Array[Byte]): Either[String, DecodedTransaction] =
    try decodeChecked(key, value)
    catch {
      // The registry's problems are the consumer's, not the record's: they stop processing.
      case e: SchemaRegistryException => throw e
      // Whatever a record holds, it is its own problem, not the consumer's: it goes to the DLQ.
      case NonFatal(e) => Left(s"record could not be decoded: ${e.getClass.getName}: ${printable(String.valueOf(e.getMessage))}")
    }

  private def decodeChecked(key: Array[Byte], value: Array[Byte]): Either[String, DecodedTransaction] =
    for {
      _ <- checkSize(key, value)
      frame <- WireFormat.parse(value).left.map(_.reason)
      _ <- schemaCheck.rejection(frame).toLeft(())
      tx <- parsePayload(value, frame)
      _ <- validate(tx)
    } yield DecodedTransaction(tx, frame.payloadOffset)

  private def checkSize(key: Array[Byte], value: Array[Byte]): Either[String, Unit] = {
    val size = (if (key == null) 0L else key.length.toLong) + (if (value == null) 0L else value.length.toLong)
    if (size <= FieldLimits.MaxRecordBytes) Right(())
    else Left(s"record key and value are $size bytes, over the limit of ${FieldLimits.MaxRecordBytes}")
  }

  private def parsePayload(value: Array[Byte], frame: Frame): Either[String, Transaction] =
    try {
      // Parsing in place avoids copying every payload out of the record value.
      val in = CodedInputStream.newInstance(value, frame.payloadOffset, value.length - frame.payloadOffset)
      Right(Transaction.parseFrom(in))
    } catch {
      case e: InvalidProtocolBufferException => Left(s"protobuf payload does not parse as txpipe.v1.Transaction: ${e.getMessage}")
    }

  private def validate(tx: Transaction): Either[String, Unit] =
    if (tx.amount.isNaN) Left("amount is NaN")
    else if (tx.amount.isInfinite) Left(s"amount is ${if (tx.amount > 0) "+" else "-"}infinity")
    // proto3 writes 0.0 as no field at all: a producer that stopped setting the amount looks the
    // same, and counting it as 0.00 would mark its id seen and drop the corrected copy.
    else if (tx.amount == 0.0) Left(TransactionDecoder.MissingAmount)
    else if (tx.accountNumber.isEmpty) Left("account_number is empty")
    // The id is the business key duplicates are dropped on: without one a record cannot be counted once.
    else if (tx.transactionId.isEmpty) Left("transaction_id is empty")
    // The account is printed in each "(account, total)" line: a line break or a control
    // character in it could print a line that looks like another account's total.
    else if (TransactionDecoder.unprintable(tx.accountNumber))
      Left(s"account_number '${printable(tx.accountNumber)}' holds a control character or line separator")
    else
      tooLong("account_number", tx.accountNumber, FieldLimits.MaxAccountBytes)
        .orElse(tooLong("transaction_id", tx.transactionId, FieldLimits.MaxTransactionIdBytes))
        .orElse(tooLong("transaction_reference", tx.transactionReference, FieldLimits.MaxReferenceBytes))
        .toLeft(())

  private def tooLong(field: String, value: String, limit: Int): Option[String] =
    FieldLimits.over(value, limit).map(n => s"$field is $n bytes, over the limit of $limit")

  private def printable(s: String): String = TransactionDecoder.printable(s)
}

/** Character rules for fields that end up in lines and logs, and the reason for a missing amount. */
object TransactionDecoder {

  /** The DLQ reason of a record whose amount is missing, or zero, which proto3 cannot tell apart. */
  val MissingAmount: String =
    "amount is missing or zero (proto3 sends 0 as no field at all); a transaction without an amount is not counted"

  /** True if `s` holds a control or format character, or a line or paragraph separator. */
  def unprintable(s: String): Boolean = {
    var i = 0
    while (i < s.length) {
      val c = s.charAt(i)
      // Fast path for the usual ASCII account numbers.
      if (c < 0x20 || (c >= 0x7f && forbidden(c))) return true
      i += 1
    }
    false
  }

  private def forbidden(c: Char): Boolean =
    Character.getType(c) match {
      case Character.CONTROL | Character.FORMAT | Character.LINE_SEPARATOR | Character.PARAGRAPH_SEPARATOR => true
      case _ => false
    }

  /** `s` with control, format and separator characters shown as '?', cut to 80 characters, for one log line. */
  def printable(s: String): String = {
    val clean = s.map(c => if (c < 0x20 || (c >= 0x7f && forbidden(c))) '?' else c)
    if (clean.length <= 80) clean else clean.take(80) + "..."
  }
}
