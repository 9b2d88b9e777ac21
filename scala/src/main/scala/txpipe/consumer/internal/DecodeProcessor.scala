package txpipe.consumer.internal

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.kafka.common.header.Headers
import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.streams.processor.api.{FixedKeyProcessor, FixedKeyProcessorContext, FixedKeyRecord}
import org.slf4j.LoggerFactory
import txpipe.consumer.Counters

/** Decodes each input record before a repartition; a bad one is logged and tagged with the dlq.* headers.
  *
  * A good one gets the txpipe.source.* headers, so that after the repartition by account the
  * totals step can still name the input record (e.g. when it drops a duplicate).
  */
final class DecodeProcessor(decoder: TransactionDecoder, counters: Counters)
    extends FixedKeyProcessor[Array[Byte], Array[Byte], Decoded] {

  private var context: FixedKeyProcessorContext[Array[Byte], Decoded] = _

  /** Keeps the context for forwarding. */
  override def init(context: FixedKeyProcessorContext[Array[Byte], Decoded]): Unit =
    this.context = context

  /** Forwards Accepted(transaction), or Rejected(original value) with the four dlq.* headers added. */
  override def process(record: FixedKeyRecord[Array[Byte], Array[Byte]]): Unit = {
    val meta = context.recordMetadata()
    decoder.decode(record.key, record.value, if (meta.isPresent) meta.get.partition else -1) match {
      case Right(tx) => context.forward(tagged(record, tx))
      case Left(reason) => context.forward(rejected(record, reason))
    }
  }

  private def tagged(record: FixedKeyRecord[Array[Byte], Array[Byte]], tx: txpipe.v1.Transaction): FixedKeyRecord[Array[Byte], Decoded] = {
    val (topic, partition, offset) = source()
    val headers = new RecordHeaders(record.headers.toArray)
    headers.add(SourceHeaders.Topic, topic.getBytes(UTF_8))
    headers.add(SourceHeaders.Partition, partition.getBytes(UTF_8))
    headers.add(SourceHeaders.Offset, offset.getBytes(UTF_8))
    record.withValue[Decoded](Decoded.Accepted(tx)).withHeaders(headers)
  }

  private def source(): (String, String, String) = {
    val meta = context.recordMetadata()
    if (meta.isPresent) (meta.get.topic, meta.get.partition.toString, meta.get.offset.toString)
    else ("unknown", "-1", "-1")
  }

  private def rejected(record: FixedKeyRecord[Array[Byte], Array[Byte]], reason: String): FixedKeyRecord[Array[Byte], Decoded] = {
    val (topic, partition, offset) = source()
    val headers = DecodeProcessor.deadLetter(record.headers, reason, topic, partition, offset, counters)
    record.withValue[Decoded](Decoded.Rejected(record.value)).withHeaders(headers)
  }
}

/** What a dead letter carries, shared by the processors that reject records. */
object DecodeProcessor {

  private val log = LoggerFactory.getLogger(classOf[DecodeProcessor])

  /** Logs and counts a rejected record; returns a copy of its headers with the four dlq.* headers added. */
  def deadLetter(original: Headers, reason: String, topic: String, partition: String, offset: String, counters: Counters): Headers = {
    val oneLineReason = reason.replaceAll("[\\r\\n]+", " ")
    val n = counters.rejected.incrementAndGet()
    log.warn(s"dead-lettering record topic=$topic partition=$partition offset=$offset reason=$oneLineReason (rejected so far: $n)")
    // A copy, so the input record's own headers object is never changed under Streams.
    val headers = new RecordHeaders(original.toArray)
    headers.add(DlqHeaders.Reason, oneLineReason.getBytes(UTF_8))
    headers.add(DlqHeaders.SourceTopic, topic.getBytes(UTF_8))
    headers.add(DlqHeaders.SourcePartition, partition.getBytes(UTF_8))
    headers.add(DlqHeaders.SourceOffset, offset.getBytes(UTF_8))
    headers
  }
}
