package txpipe.consumer.storage

import java.nio.{BufferUnderflowException, ByteBuffer}

/** Reads the id batches that consumers before the seen-id store wrote into the same changelog.
  *
  * Layout: a version byte (1), then per entry a 4-byte key length, the key, a 4-byte value
  * length and the value, big-endian. Nothing writes it any more; a restore unpacks it so that
  * ids counted before an upgrade are still dropped when sent again.
  */
object LegacyIdBatches {

  private val Version: Byte = 1

  /** True if `value` is a batch rather than a single first-seen time. */
  def isBatch(value: Array[Byte]): Boolean = value != null && value.length > 8 && value(0) == Version

  /** Calls `each` with every (key, value) of an encoded batch; `where` names the record in errors. */
  def foreach(encoded: Array[Byte], where: => String)(each: (Array[Byte], Array[Byte]) => Unit): Unit = {
    if (!isBatch(encoded)) throw new IllegalArgumentException(s"$where is not a batch of ids")
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
        throw new IllegalArgumentException(s"$where is a truncated batch of ids (${encoded.length} bytes)")
    }
  }

  private def length(in: ByteBuffer, where: => String): Int = {
    val n = in.getInt
    if (n < 0 || n > in.remaining)
      throw new IllegalArgumentException(s"$where is a damaged batch of ids: an entry of $n bytes with ${in.remaining} left")
    n
  }
}
