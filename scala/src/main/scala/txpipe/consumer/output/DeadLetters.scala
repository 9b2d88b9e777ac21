package txpipe.consumer.output

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.kafka.common.header.Headers
import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.streams.processor.api.Record
import org.slf4j.LoggerFactory
import txpipe.consumer.Counters

/** The DLQ record for a rejected input record: the record itself with the reason and its source
  * in `dlq.*` headers, or, when that copy could not be written (over `maxRecordBytes`), a marker
  * without key or value that keeps the reason, the source and the original sizes.
  */
final class DeadLetters(maxRecordBytes: Int, counters: Counters) {

  private val log = LoggerFactory.getLogger(classOf[DeadLetters])

  /** Logs and counts the rejection; returns the record to send to the DLQ. */
  def letter(
      record: Record[Array[Byte], Array[Byte]],
      reason: String,
      topic: String,
      partition: Int,
      offset: Long): Record[Array[Byte], Array[Byte]] = {
    val oneLine = DeadLetters.oneLine(reason)
    val n = counters.rejectedFor(oneLine)
    val keyBytes = if (record.key == null) 0 else record.key.length
    val valueBytes = if (record.value == null) 0 else record.value.length
    val headerBytes = DeadLetters.headerBytes(record.headers)
    val copyBytes = keyBytes.toLong + valueBytes + headerBytes + DeadLetters.HeadersAddedBytes + oneLine.length * 3L +
      topic.length * 3L
    if (copyBytes <= maxRecordBytes) {
      log.warn(s"dead-lettering record topic=$topic partition=$partition offset=$offset reason=$oneLine (rejected so far: $n)")
      // A copy, so the input record's own headers object is never changed under Streams.
      val headers = new RecordHeaders(record.headers.toArray)
      DeadLetters.addSource(headers, oneLine, topic, partition, offset)
      record.withHeaders(headers)
    } else {
      val why = s"$oneLine; the record (key $keyBytes bytes, value $valueBytes bytes, headers $headerBytes bytes) " +
        s"is too large to copy to the DLQ (limit $maxRecordBytes bytes), so this marker without key or value stands in for it"
      log.warn(s"dead-lettering a marker for record topic=$topic partition=$partition offset=$offset reason=$why (rejected so far: $n)")
      val headers = new RecordHeaders()
      DeadLetters.addSource(headers, why, topic, partition, offset)
      headers.add(DlqHeaders.OriginalKeyBytes, keyBytes.toString.getBytes(UTF_8))
      headers.add(DlqHeaders.OriginalValueBytes, valueBytes.toString.getBytes(UTF_8))
      headers.add(DlqHeaders.OriginalHeaderBytes, headerBytes.toString.getBytes(UTF_8))
      new Record[Array[Byte], Array[Byte]](null, null, record.timestamp, headers)
    }
  }
}

/** Sizes and header layout of dead letters. */
object DeadLetters {

  /** What Kafka's record and batch framing may add to a record's key, value and headers, with room to spare. */
  val FramingBytes: Int = 512

  // The dlq.* header names and their length prefixes, besides the reason and the topic.
  private val HeadersAddedBytes = 256

  // A reason names the record, not the bytes of it: the longest one kept.
  private val MaxReasonChars = 2000

  /** The largest DLQ record the producer and the DLQ topic both take: the smaller of the producer's
    * max.request.size and the topic's max.message.bytes, less the framing. */
  def maxRecordBytes(producerMaxRequestSize: Int, topicMaxMessageBytes: Option[Int]): Int =
    math.max(0, math.min(producerMaxRequestSize, topicMaxMessageBytes.getOrElse(Int.MaxValue)) - FramingBytes)

  private def oneLine(reason: String): String = {
    val flat = reason.replaceAll("[\\r\\n]+", " ")
    if (flat.length <= MaxReasonChars) flat else flat.take(MaxReasonChars) + "..."
  }

  private def headerBytes(headers: Headers): Long = {
    var n = 0L
    headers.forEach { h =>
      n += h.key.length * 3L + (if (h.value == null) 0 else h.value.length) + 10
    }
    n
  }

  private def addSource(headers: Headers, reason: String, topic: String, partition: Int, offset: Long): Unit = {
    headers.add(DlqHeaders.Reason, reason.getBytes(UTF_8))
    headers.add(DlqHeaders.SourceTopic, topic.getBytes(UTF_8))
    headers.add(DlqHeaders.SourcePartition, partition.toString.getBytes(UTF_8))
    headers.add(DlqHeaders.SourceOffset, offset.toString.getBytes(UTF_8))
  }
}
