package txpipe.consumer.totals

import java.nio.charset.StandardCharsets.{US_ASCII, UTF_8}

import scala.util.Random

import com.google.protobuf.timestamp.Timestamp
import org.scalatest.funsuite.AnyFunSuite
import scalapb.UnknownFieldSet
import txpipe.v1.AccountTotal

class AccountTotalBytesSpec extends AnyFunSuite {

  private def generated(account: String, total: String, count: Long, id: String, at: Option[Timestamp]): Array[Byte] =
    AccountTotal(
      accountNumber = account,
      total = total,
      transactionCount = count,
      lastTransactionId = id,
      lastTransactionDatetime = at).toByteArray

  private def ours(account: String, total: String, count: Long, id: String, at: Option[Timestamp]): Array[Byte] =
    AccountTotalBytes.encode(account.getBytes(UTF_8), total.getBytes(US_ASCII), count, id.getBytes(UTF_8), at)

  test("the same bytes as the generated encoder, field by field at the edges proto3 leaves out") {
    val accounts = Seq("", "ACC-0001", "Kontø-ß-€-😀", "x" * 200)
    val totals = Seq("", "0.00", "-3.00", "1234567890123456789012345678901234567890.12")
    val counts = Seq(0L, 1L, 127L, 128L, Long.MaxValue, -1L)
    val ids = Seq("", "0190f5b2-7c1e-7000-8000-000000000001", "é" * 300)
    val times = Seq(
      None,
      Some(Timestamp()),
      Some(Timestamp(seconds = 1_700_000_000L, nanos = 123_456_789)),
      Some(Timestamp(seconds = -62_135_596_800L, nanos = 0)),
      Some(Timestamp(seconds = 0L, nanos = 999_999_999)),
      // A newer producer's extra field in the timestamp travels on, as the generated code carries it.
      Some(Timestamp(seconds = 5L, unknownFields = UnknownFieldSet.empty.withField(9, UnknownFieldSet.Field(varint = Seq(7L)))))
    )
    for (a <- accounts; t <- totals; c <- counts; i <- ids; at <- times)
      assert(ours(a, t, c, i, at).sameElements(generated(a, t, c, i, at)), s"account=$a total=$t count=$c id=$i at=$at")
  }

  test("the same bytes as the generated encoder on random fields") {
    val random = new Random(20261208L)
    def text(n: Int) =
      Iterator.continually(random.nextInt(0x2fff).toChar).filterNot(_.isSurrogate).take(random.nextInt(n)).mkString
    for (_ <- 1 to 2000) {
      val account = text(40)
      val total = BigDecimal(random.nextLong(), random.nextInt(6)).bigDecimal.toPlainString
      val count = random.nextLong()
      val id = text(60)
      val at =
        if (random.nextBoolean()) None else Some(Timestamp(random.nextLong() % 253_402_300_800L, random.nextInt(1_000_000_000)))
      assert(ours(account, total, count, id, at).sameElements(generated(account, total, count, id, at)))
    }
  }
}
