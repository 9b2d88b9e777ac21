package txpipe.consumer.internal

import java.nio.ByteBuffer
import java.nio.charset.{CharacterCodingException, CodingErrorAction, StandardCharsets}

import com.google.protobuf.{CodedInputStream, InvalidProtocolBufferException}
import org.apache.kafka.common.utils.Utils
import txpipe.consumer.Partitioning
import txpipe.v1.Transaction

/** Turns a raw record into a valid Transaction, or a one-line reason why it is not one. */
final class TransactionDecoder(schemaCheck: SchemaCheck, partitioning: Partitioning) {

  /** The transaction in this record, read from `partition`, or Left(reason) for the dead-letter queue. */
  def decode(key: Array[Byte], value: Array[Byte], partition: Int): Either[String, Transaction] =
    for {
      frame <- WireFormat.parse(value).left.map(_.reason)
      _ <- schemaCheck.rejection(frame).toLeft(())
      tx <- parsePayload(value, frame)
      _ <- validate(tx)
      _ <- checkKey(key, tx.accountNumber)
      _ <- checkPartition(key, partition, tx.accountNumber)
    } yield tx

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
    else Right(())

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

  // Without the repartition each task totals the accounts of its own input partition, so an
  // account seen on any other partition would get a second, partial total there.
  private def checkPartition(key: Array[Byte], partition: Int, accountNumber: String): Either[String, Unit] =
    partitioning match {
      case Partitioning.Repartition => Right(())
      case Partitioning.KeyedByAccount(partitions) =>
        if (key == null)
          Left(s"record has no key; records must be keyed by account_number " +
            s"(or start the consumer with --repartition to accept any key)")
        else {
          val owner = TransactionDecoder.ownerPartition(key, partitions)
          if (owner == partition) Right(())
          else
            Left(s"account '${printable(accountNumber)}' belongs on partition $owner of $partitions (murmur2 of the key) " +
              s"but arrived on partition $partition; produce with Kafka's default partitioner " +
              s"(librdkafka: partitioner=murmur2_random), or start the consumer with --repartition")
        }
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
