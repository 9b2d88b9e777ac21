package txpipe.consumer.decoding

import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.TestFrames

class WireFormatSpec extends AnyFunSuite {

  private val payload = TestFrames.transaction("ACC-0007", 1523.4).toByteArray

  private def bytes(ints: Int*): Array[Byte] = ints.map(_.toByte).toArray

  test("valid frame with the [0] shortcut") {
    val value = TestFrames.frame(42, payload)
    val frame = WireFormat.parse(value).fold(e => fail(e.reason), identity)
    assert(frame == Frame(42, Vector(0), 6))
    assert(WireFormat.payload(value, frame).sameElements(payload))
  }

  test("valid frame with an explicit index array") {
    val value = TestFrames.frame(7, payload, indexes = Seq(1, 0, 300), shortcut = false)
    val frame = WireFormat.parse(value).fold(e => fail(e.reason), identity)
    assert(frame.schemaId == 7)
    assert(frame.messageIndexes == Vector(1, 0, 300))
    // count 3 -> 1 byte, 1 -> 1, 0 -> 1, 300 (zig-zag 600) -> 2
    assert(frame.payloadOffset == 5 + 1 + 1 + 1 + 2)
    assert(WireFormat.payload(value, frame).sameElements(payload))
  }

  test("explicit [0] spelled out is the same as the shortcut") {
    val value = TestFrames.frame(1, payload, indexes = Seq(0), shortcut = false)
    assert(WireFormat.parse(value).map(_.messageIndexes) == Right(Vector(0)))
  }

  test("a large schema id is read big-endian") {
    val frame = WireFormat.parse(TestFrames.frame(0x01020304, payload))
    assert(frame.map(_.schemaId) == Right(0x01020304))
  }

  test("an empty payload is still a well-formed frame") {
    assert(WireFormat.parse(bytes(0, 0, 0, 0, 1, 0)) == Right(Frame(1, Vector(0), 6)))
  }

  test("null value") {
    assert(WireFormat.parse(null) == Left(WireError.NullValue))
  }

  test("values shorter than 6 bytes") {
    for (n <- 0 to 5) assert(WireFormat.parse(new Array[Byte](n)) == Left(WireError.TooShort(n)))
  }

  test("magic byte other than 0") {
    val value = TestFrames.frame(1, payload)
    value(0) = 1
    assert(WireFormat.parse(value) == Left(WireError.BadMagicByte(1)))
    value(0) = 0xff.toByte
    assert(WireFormat.parse(value) == Left(WireError.BadMagicByte(255)))
  }

  test("schema id with the top bit set") {
    assert(WireFormat.parse(bytes(0, 0x80, 0, 0, 1, 0)).left.map(_.isInstanceOf[WireError.NegativeSchemaId]) == Left(true))
  }

  test("index count varint runs off the end") {
    assert(WireFormat.parse(bytes(0, 0, 0, 0, 1, 0xff)) == Left(WireError.TruncatedVarint("message-index count")))
  }

  test("index varint runs off the end") {
    // count 3 (zig-zag 6), one index, then nothing
    assert(WireFormat.parse(bytes(0, 0, 0, 0, 1, 6, 0)) == Left(WireError.TruncatedVarint("message-index")))
    assert(WireFormat.parse(bytes(0, 0, 0, 0, 1, 2, 0x80)) == Left(WireError.TruncatedVarint("message-index")))
  }

  test("negative index count") {
    assert(WireFormat.parse(bytes(0, 0, 0, 0, 1, 1, 0x0a)) == Left(WireError.IndexCountOutOfRange(-1)))
  }

  test("absurdly large index count") {
    assert(WireFormat.parse(bytes(0, 0, 0, 0, 1, 0x82, 0x01)) == Left(WireError.IndexCountOutOfRange(65)))
  }

  test("negative message index") {
    assert(WireFormat.parse(bytes(0, 0, 0, 0, 1, 2, 1, 0x0a)) == Left(WireError.IndexOutOfRange(-1)))
  }

  test("message index beyond Int range") {
    val value = Array[Byte](0, 0, 0, 0, 1, 2) ++ TestFrames.zigzagVarint(1L << 40)
    assert(WireFormat.parse(value) == Left(WireError.IndexOutOfRange(1L << 40)))
  }

  test("varint longer than 10 bytes") {
    val value = bytes(0, 0, 0, 0, 1) ++ Array.fill[Byte](11)(0xff.toByte) ++ bytes(0)
    assert(WireFormat.parse(value) == Left(WireError.OverlongVarint("message-index count")))
  }

  test("every error names what was wrong") {
    val reasons = Seq(
      WireFormat.parse(null),
      WireFormat.parse(new Array[Byte](3)),
      WireFormat.parse(bytes(9, 0, 0, 0, 1, 0)),
      WireFormat.parse(bytes(0, 0, 0, 0, 1, 0xff))
    ).map(_.left.map(_.reason))
    assert(reasons == Seq(
      Left("record value is null"),
      Left("record value is 3 bytes, shorter than the 6-byte minimum frame"),
      Left("magic byte is 9, expected 0"),
      Left("message-index count varint runs past the end of the record")
    ))
  }
}
