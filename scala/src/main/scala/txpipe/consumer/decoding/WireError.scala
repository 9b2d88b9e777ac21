package txpipe.consumer.decoding

/** Why a record value is not a Confluent protobuf frame. */
sealed trait WireError {

  /** One line naming what was wrong, for logs and the `dlq.reason` header. */
  def reason: String
}

/** The ways a frame can be malformed. */
object WireError {

  case object NullValue extends WireError {
    val reason = "record value is null"
  }

  final case class TooShort(length: Int) extends WireError {
    def reason = s"record value is $length bytes, shorter than the 6-byte minimum frame"
  }

  final case class BadMagicByte(found: Int) extends WireError {
    def reason = s"magic byte is $found, expected 0"
  }

  final case class NegativeSchemaId(id: Long) extends WireError {
    def reason = s"schema id ${id & 0xffffffffL} does not fit a signed 32-bit registry id"
  }

  final case class TruncatedVarint(what: String) extends WireError {
    def reason = s"$what varint runs past the end of the record"
  }

  final case class OverlongVarint(what: String) extends WireError {
    def reason = s"$what varint is longer than 10 bytes"
  }

  final case class IndexCountOutOfRange(count: Long) extends WireError {
    def reason = s"message-index count $count is out of range 0..${WireFormat.MaxIndexCount}"
  }

  final case class IndexOutOfRange(index: Long) extends WireError {
    def reason = s"message index $index is negative or too large"
  }
}
