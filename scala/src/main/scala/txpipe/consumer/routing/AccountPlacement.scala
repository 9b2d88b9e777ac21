package txpipe.consumer.routing

import java.nio.charset.StandardCharsets.UTF_8
import java.util.Optional

import org.apache.kafka.common.utils.Utils
import org.apache.kafka.streams.processor.StreamPartitioner

/** Where an account's transactions are totalled: the partition Kafka's Java producer (murmur2 of
  * the key) gives the account's UTF-8 bytes. Each task owns the accounts of its partition number. */
object AccountPlacement {

  /** The partition, of `partitions`, that owns `account`. */
  def owner(account: String, partitions: Int): Int = ownerOfKey(account.getBytes(UTF_8), partitions)

  /** The partition, of `partitions`, that owns the account whose UTF-8 bytes are `key`. */
  def ownerOfKey(key: Array[Byte], partitions: Int): Int = Utils.toPositive(Utils.murmur2(key)) % partitions

  /** Sends a record keyed by account bytes to its owner partition. */
  val partitioner: StreamPartitioner[Array[Byte], Array[Byte]] = new StreamPartitioner[Array[Byte], Array[Byte]] {
    override def partitions(
        topic: String,
        key: Array[Byte],
        value: Array[Byte],
        numPartitions: Int): Optional[java.util.Set[Integer]] =
      Optional.of(java.util.Set.of(Int.box(ownerOfKey(key, numPartitions))))
  }
}
