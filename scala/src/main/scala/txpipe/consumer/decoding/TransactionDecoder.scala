package txpipe.consumer.decoding

import java.nio.ByteBuffer
import java.nio.charset.{CharacterCodingException, CodingErrorAction, StandardCharsets}

import com.google.protobuf.{CodedInputStream, InvalidProtocolBufferException}
import org.apache.kafka.common.utils.Utils
import scala.util.control.NonFatal

import txpipe.v1.Transaction

/** Turns a raw record into a valid Transaction, or a one-line reason why it is not one.
  *
  * Records must be keyed by account_number and sit on the partition Kafka's default partitioner
  * (murmur2) gives that key among `partitions`: each task then owns every account it sees.
  */
final class TransactionDecoder(schemaCheck: SchemaCheck, partitions: Int) {

  require(partitions >= 1, s"partitions must be >= 1, got $partitions")

  /** The transaction in this record, read from `partition`, or Left(reason) for the dead-letter queue. */
  def decode(key: Array[Byte], value: Array[Byte], partition: Int): Either[String, Transaction] =
    try decodeChecked(key, value, partition)
    catch {
      // Whatever a record holds, it is its own problem, not the consumer's: it goes to the DLQ.
      case NonFatal(e) => Left(s"record could not be decoded: ${e.getClass.getName}: ${printable(String.valueOf(e.getMessage))}")
    }

  private def decodeChecked(key: Array[Byte], value: Array[Byte], partition: Int): Either[String, Transaction] =
    for {
      _ <- checkSize(key, value)
      frame <- WireFormat.parse(value).left.map(_.reason)
      _ <- schemaCheck.rejection(frame).toLeft(())
      tx <- parsePayload(value, frame)
      _ <- validate(tx)
      _ <- checkKey(key, tx.accountNumber)
      _ <- checkPartition(key, partition, tx.accountNumber)
    } yield tx

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
    else if (tx.accountNumber.isEmpty) Left("account_number is empty")
    // The id is the business key duplicates are dropped on: without one a record cannot be counted once.
    else if (tx.transactionId.isEmpty) Left("transaction_id is empty")
    else
      tooLong("account_number", tx.accountNumber, FieldLimits.MaxAccountBytes)
        .orElse(tooLong("transaction_id", tx.transactionId, FieldLimits.MaxTransactionIdBytes))
        .orElse(tooLong("transaction_reference", tx.transactionReference, FieldLimits.MaxReferenceBytes))
        .toLeft(())

  private def tooLong(field: String, value: String, limit: Int): Option[String] =
    FieldLimits.over(value, limit).map(n => s"$field is $n bytes, over the limit of $limit")

  private def checkKey(key: Array[Byte], accountNumber: String): Either[String, Unit] =
    if (key == null) Right(())
    // The usual case, without a strict decoder per record: the account's own UTF-8 bytes.
    else if (java.util.Arrays.equals(key, accountNumber.getBytes(StandardCharsets.UTF_8))) Right(())
    else
      strictUtf8(key) match {
        case None => Left("record key is not valid UTF-8")
        case Some(k) if k == accountNumber => Right(())
        case Some(k) => Left(s"record key '${printable(k)}' does not match account_number '${printable(accountNumber)}'")
      }

  // Each task totals the accounts of its own input partition, so an
  // account seen on any other partition would get a second, partial total there.
  private def checkPartition(key: Array[Byte], partition: Int, accountNumber: String): Either[String, Unit] =
    if (key == null) Left("record has no key; records must be keyed by account_number")
    else {
      val owner = TransactionDecoder.ownerPartition(key, partitions)
      if (owner == partition) Right(())
      else
        Left(s"account '${printable(accountNumber)}' belongs on partition $owner of $partitions (murmur2 of the key) " +
          s"but arrived on partition $partition; produce with Kafka's default partitioner " +
          s"(librdkafka: partitioner=murmur2_random)")
    }

  private def strictUtf8(bytes: Array[Byte]): Option[String] =
    try {
      Some(
        StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString
      )
    } catch { case _: CharacterCodingException => None }

  // Reasons go into one log line and a header; control characters would break both.
  private def printable(s: String): String = {
    val clean = s.map(c => if (Character.isISOControl(c)) '?' else c)
    if (clean.length <= 80) clean else clean.take(80) + "..."
  }
}

/** Where keyed records belong. */
object TransactionDecoder {

  /** The partition Kafka's default partitioner (murmur2, as librdkafka's murmur2_random) gives `key`. */
  def ownerPartition(key: Array[Byte], partitions: Int): Int = Utils.toPositive(Utils.murmur2(key)) % partitions
}
