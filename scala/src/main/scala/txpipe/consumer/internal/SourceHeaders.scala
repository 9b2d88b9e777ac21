package txpipe.consumer.internal

/** Headers the decode step adds to accepted records: where in the input topic they came from. */
object SourceHeaders {
  val Topic = "txpipe.source.topic"
  val Partition = "txpipe.source.partition"
  val Offset = "txpipe.source.offset"
}
