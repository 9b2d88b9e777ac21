package txpipe.consumer.internal

/** Header names added to every dead-lettered record; values are UTF-8 strings. */
object DlqHeaders {
  val Reason = "dlq.reason"
  val SourceTopic = "dlq.source.topic"
  val SourcePartition = "dlq.source.partition"
  val SourceOffset = "dlq.source.offset"
}
