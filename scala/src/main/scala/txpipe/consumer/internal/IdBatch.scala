package txpipe.consumer.internal

import java.nio.{BufferUnderflowException, ByteBuffer}
import java.util

/** Many (key, value) entries of a store packed into one changelog record.
  *
  * Layout: a version byte (1), then per entry a 4-byte key length, the key, a 4-byte value
  * length and the value, big-endian like Kafka's own serializers.
  */
final class IdBatch {
  private var bytes = new Array[Byte](IdBatch.InitialBytes)
  private var used = 0
  private var first: Array[Byte] = _

  /** True when no entry was added since the last take or clear. */
  def isEmpty: Boolean = first == null

  /** The encoded size so far. */
  def size: Int = used

  /** The key of the first entry added, or null when empty. */
  def firstKey: Array[Byte] = first

  /** Appends one entry. */
  def add(key: Array[Byte], value: Array[Byte]): Unit = {
    if (first == null) {
      first = key
      used = 0
      ensure(1)
      bytes(0) = IdBatch.Version
      used = 1
    }
    ensure(8 + key.length + value.length)
    putInt(key.length)
    System.arraycopy(key, 0, bytes, used, key.length)
    used += key.length
    putInt(value.length)
    System.arraycopy(value, 0, bytes, used, value.length)
    used += value.length
  }

  /** The encoded entries; the batch is empty afterwards. */
  def take(): Array[Byte] = {
    val out = util.Arrays.copyOf(bytes, used)
    clear()
    out
  }

  /** Drops every entry. */
  def clear(): Unit = {
    first = null
    used = 0
    // A batch that once grew past its usual size is not kept that big.
    if (bytes.length > IdBatch.KeptBytes) bytes = new Array[Byte](IdBatch.InitialBytes)
  }

  private def ensure(n: Int): Unit =
    if (used + n > bytes.length) bytes = util.Arrays.copyOf(bytes, math.max(bytes.length * 2, used + n))

  private def putInt(v: Int): Unit = {
    bytes(used) = (v >>> 24).toByte
    bytes(used + 1) = (v >>> 16).toByte
    bytes(used + 2) = (v >>> 8).toByte
    bytes(used + 3) = v.toByte
    used += 4
  }
}

object IdBatch {

  /** The only layout written so far. */
  val Version: Byte = 1

  private val InitialBytes = 16 * 1024
  private val KeptBytes = 256 * 1024

  /** Calls `each` with every (key, value) of an encoded batch; `where` names the record in errors. */
  def foreach(encoded: Array[Byte], where: => String)(each: (Array[Byte], Array[Byte]) => Unit): Unit = {
    if (encoded.length == 0 || encoded(0) != Version)
      throw new IllegalStateException(
        s"$where is not a batch of ids (layout ${if (encoded.length == 0) "empty" else encoded(0).toString}, expected $Version)")
    val in = ByteBuffer.wrap(encoded, 1, encoded.length - 1)
    try
      while (in.hasRemaining) {
        val key = new Array[Byte](length(in, where))
        in.get(key)
        val value = new Array[Byte](length(in, where))
        in.get(value)
        each(key, value)
      }
    catch {
      case _: BufferUnderflowException =>
        throw new IllegalStateException(s"$where is a truncated batch of ids (${encoded.length} bytes)")
    }
  }

  private def length(in: ByteBuffer, where: => String): Int = {
    val n = in.getInt
    if (n < 0 || n > in.remaining)
      throw new IllegalStateException(s"$where is a damaged batch of ids: an entry of $n bytes with ${in.remaining} left")
    n
  }
}
