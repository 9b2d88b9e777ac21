package txpipe.consumer.decoding

/** Reads the Confluent Schema Registry framing of a protobuf record value:
  * magic byte 0, a big-endian 4-byte schema id, zig-zag varint message indexes, then the payload.
  */
object WireFormat {

  /** Frames name a message at most this deep; more means garbage, not a real schema path. */
  val MaxIndexCount = 64

  private val MinFrameLength = 6
  // One shared instance: the [0] shortcut is nearly every record, and it keys a cache.
  private val FirstMessage = Vector(0)

  /** Splits a record value into schema id, message indexes and payload offset, or says why not. */
  def parse(value: Array[Byte]): Either[WireError, Frame] = {
    if (value == null) return Left(WireError.NullValue)
    if (value.length < MinFrameLength) return Left(WireError.TooShort(value.length))
    if (value(0) != 0) return Left(WireError.BadMagicByte(value(0) & 0xff))
    val schemaId = ((value(1) & 0xff) << 24) | ((value(2) & 0xff) << 16) | ((value(3) & 0xff) << 8) | (value(4) & 0xff)
    if (schemaId < 0) return Left(WireError.NegativeSchemaId(schemaId.toLong))

    val reader = new VarintReader(value, 5)
    reader.next("message-index count") match {
      case Left(e) => Left(e)
      case Right(0L) => Right(Frame(schemaId, FirstMessage, reader.position))
      case Right(count) if count < 0 || count > MaxIndexCount => Left(WireError.IndexCountOutOfRange(count))
      case Right(count) =>
        val indexes = Vector.newBuilder[Int]
        var i = 0L
        while (i < count) {
          reader.next("message-index") match {
            case Left(e) => return Left(e)
            case Right(index) if index < 0 || index > Int.MaxValue => return Left(WireError.IndexOutOfRange(index))
            case Right(index) => indexes += index.toInt
          }
          i += 1
        }
        Right(Frame(schemaId, indexes.result(), reader.position))
    }
  }

  /** The protobuf payload of a parsed frame, copied out (tests and tools; the hot path avoids it). */
  def payload(value: Array[Byte], frame: Frame): Array[Byte] =
    java.util.Arrays.copyOfRange(value, frame.payloadOffset, value.length)

  private final class VarintReader(bytes: Array[Byte], start: Int) {
    var position: Int = start

    def next(what: String): Either[WireError, Long] = {
      var result = 0L
      var shift = 0
      while (true) {
        if (position >= bytes.length) return Left(WireError.TruncatedVarint(what))
        val b = bytes(position)
        position += 1
        result |= (b & 0x7fL) << shift
        if ((b & 0x80) == 0) return Right((result >>> 1) ^ -(result & 1))
        shift += 7
        if (shift > 63) return Left(WireError.OverlongVarint(what))
      }
      Left(WireError.TruncatedVarint(what))
    }
  }
}
