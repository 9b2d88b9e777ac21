package txpipe.consumer.totals

import com.google.protobuf.CodedOutputStream
import com.google.protobuf.timestamp.Timestamp

/** `txpipe.v1.AccountTotal` encoded from fields already in UTF-8: the same bytes as ScalaPB's
  * `toByteArray`, without encoding the strings twice (once to size them, once to write them), as
  * the generated code does for every transaction counted.
  */
object AccountTotalBytes {

  private val AccountField = 1
  private val TotalField = 2
  private val CountField = 3
  private val LastIdField = 4
  private val LastDatetimeField = 5

  /** The encoded AccountTotal; an empty string or a zero count is left out, as proto3 does. */
  def encode(
      account: Array[Byte],
      total: Array[Byte],
      count: Long,
      lastId: Array[Byte],
      lastDatetime: Option[Timestamp]): Array[Byte] = {
    val datetimeSize = lastDatetime.fold(0)(_.serializedSize)
    val size =
      bytesSize(AccountField, account) + bytesSize(TotalField, total) +
        (if (count != 0L) CodedOutputStream.computeUInt64Size(CountField, count) else 0) +
        bytesSize(LastIdField, lastId) +
        (if (lastDatetime.isDefined) CodedOutputStream.computeTagSize(LastDatetimeField) +
           CodedOutputStream.computeUInt32SizeNoTag(datetimeSize) + datetimeSize
         else 0)
    val out = new Array[Byte](size)
    val coded = CodedOutputStream.newInstance(out)
    writeBytes(coded, AccountField, account)
    writeBytes(coded, TotalField, total)
    if (count != 0L) coded.writeUInt64(CountField, count)
    writeBytes(coded, LastIdField, lastId)
    lastDatetime.foreach { t =>
      coded.writeTag(LastDatetimeField, 2)
      coded.writeUInt32NoTag(datetimeSize)
      t.writeTo(coded)
    }
    coded.checkNoSpaceLeft()
    out
  }

  private def bytesSize(field: Int, value: Array[Byte]): Int =
    if (value.length == 0) 0 else CodedOutputStream.computeByteArraySize(field, value)

  private def writeBytes(out: CodedOutputStream, field: Int, value: Array[Byte]): Unit =
    if (value.length != 0) out.writeByteArray(field, value)
}
