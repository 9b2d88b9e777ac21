package txpipe.consumer

/** How the consumer brings all of an account's transactions to the one task that holds its total. */
sealed trait Partitioning

/** The two ways. */
object Partitioning {

  /** The input is keyed by account_number and partitioned by murmur2 over `partitions` partitions
    * (Kafka's Java default, librdkafka's `murmur2_random`); a record that is not goes to the DLQ.
    * Each record is read once and totalled where it lands.
    */
  final case class KeyedByAccount(partitions: Int) extends Partitioning {
    require(partitions >= 1, s"partitions must be >= 1, got $partitions")
  }

  /** Any key (or none) on any partition: an internal topic re-partitions the records by account
    * first, at the cost of one more write, read and transaction commit per record.
    */
  case object Repartition extends Partitioning
}
