package txpipe.consumer

import java.io.ByteArrayOutputStream

import com.google.protobuf.timestamp.Timestamp
import txpipe.v1.Transaction

/** Builds Confluent-framed record values the way the producer's serializer does. */
object TestFrames {

  def zigzagVarint(value: Long): Array[Byte] = {
    var n = (value << 1) ^ (value >> 63)
    val out = new ByteArrayOutputStream()
    while ((n & ~0x7fL) != 0) {
      out.write(((n & 0x7f) | 0x80).toInt)
      n >>>= 7
    }
    out.write(n.toInt)
    out.toByteArray
  }

  def frame(schemaId: Int, payload: Array[Byte], indexes: Seq[Int] = Seq(0), shortcut: Boolean = true): Array[Byte] = {
    val out = new ByteArrayOutputStream()
    out.write(0)
    out.write(Array((schemaId >>> 24).toByte, (schemaId >>> 16).toByte, (schemaId >>> 8).toByte, schemaId.toByte))
    if (shortcut && indexes == Seq(0)) out.write(0)
    else {
      out.write(zigzagVarint(indexes.length.toLong))
      indexes.foreach(i => out.write(zigzagVarint(i.toLong)))
    }
    out.write(payload)
    out.toByteArray
  }

  def transaction(account: String, amount: Double, id: String = "tx-1"): Transaction =
    Transaction(
      transactionId = id,
      accountNumber = account,
      transactionReference = s"REF-$id",
      transactionDatetime = Some(Timestamp(seconds = 1767225600L, nanos = 123000000)),
      amount = amount
    )

  def hex(s: String): Array[Byte] =
    s.grouped(2).map(Integer.parseInt(_, 16).toByte).toArray

  val TransactionProtoText: String =
    new String(java.nio.file.Files.readAllBytes(ProjectPaths.repoRoot.resolve("proto/transaction.proto")), "UTF-8")
}
