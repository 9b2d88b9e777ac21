package txpipe.consumer.storage

import java.nio.ByteBuffer
import java.security.MessageDigest

/** What the seen-id store keeps for a counted transaction: when it was first counted, a digest
  * of its content, and the input partition and offset it was counted from.
  *
  * Layout, big-endian: 8-byte first-seen time (ms), 16-byte content digest, 4-byte partition,
  * 8-byte offset. Consumers before this layout stored the time alone (8 bytes); such a mark has
  * no digest, and a copy of its id is taken to be identical.
  */
final case class SeenMark(firstSeenMs: Long, digest: Option[Array[Byte]], partition: Int, offset: Long) {

  /** True if a copy with `otherDigest` has the content this mark was made from (or this mark cannot tell). */
  def sameContent(otherDigest: Array[Byte]): Boolean = digest.forall(d => MessageDigest.isEqual(d, otherDigest))
}

/** Encoding of marks; the store itself reads only the leading time (SeenIdStore.timeOf). */
object SeenMark {

  /** Bytes of a content digest. */
  val DigestBytes = 16

  private val Bytes = 8 + DigestBytes + 4 + 8

  /** The stored form of a mark with a digest. */
  def encode(firstSeenMs: Long, digest: Array[Byte], partition: Int, offset: Long): Array[Byte] = {
    require(digest.length == DigestBytes, s"digest must be $DigestBytes bytes, got ${digest.length}")
    ByteBuffer.allocate(Bytes).putLong(firstSeenMs).put(digest).putInt(partition).putLong(offset).array()
  }

  /** The mark in a stored value: either layout. */
  def decode(value: Array[Byte]): SeenMark =
    if (value.length >= Bytes) {
      val in = ByteBuffer.wrap(value)
      val time = in.getLong
      val digest = new Array[Byte](DigestBytes)
      in.get(digest)
      SeenMark(time, Some(digest), in.getInt, in.getLong)
    } else SeenMark(SeenIdStore.timeOf(value), None, -1, -1L)

  /** The first DigestBytes of the SHA-256 of `length` bytes of `content` from `offset`. */
  def digestOf(sha256: MessageDigest, content: Array[Byte], offset: Int, length: Int): Array[Byte] = {
    sha256.reset()
    sha256.update(content, offset, length)
    java.util.Arrays.copyOf(sha256.digest(), DigestBytes)
  }
}
