package txpipe.consumer.output

/** Header names added to every dead-lettered record; values are UTF-8 strings. */
object DlqHeaders {
  val Reason = "dlq.reason"
  val SourceTopic = "dlq.source.topic"
  val SourcePartition = "dlq.source.partition"
  val SourceOffset = "dlq.source.offset"

  /** On a marker only (a record too large to copy): the original key's size in bytes. */
  val OriginalKeyBytes = "dlq.original.key.bytes"

  /** On a marker only: the original value's size in bytes. */
  val OriginalValueBytes = "dlq.original.value.bytes"

  /** On a marker only: the original headers' total size in bytes (they are not copied either). */
  val OriginalHeaderBytes = "dlq.original.headers.bytes"
}
