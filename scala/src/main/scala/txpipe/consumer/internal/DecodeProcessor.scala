package txpipe.consumer.internal

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.streams.processor.api.{FixedKeyProcessor, FixedKeyProcessorContext, FixedKeyRecord}
import org.slf4j.LoggerFactory

/** Decodes each input record; a bad one is logged and tagged with the dlq.* headers. */
final class DecodeProcessor(decoder: TransactionDecoder) extends FixedKeyProcessor[Array[Byte], Array[Byte], Decoded] {

  private val log = LoggerFactory.getLogger(classOf[DecodeProcessor])
  private var context: FixedKeyProcessorContext[Array[Byte], Decoded] = _

  /** Keeps the context for forwarding. */
  override def init(context: FixedKeyProcessorContext[Array[Byte], Decoded]): Unit =
    this.context = context

  /** Forwards Accepted(transaction), or Rejected(original value) with the four dlq.* headers added. */
  override def process(record: FixedKeyRecord[Array[Byte], Array[Byte]]): Unit =
    decoder.decode(record.key, record.value) match {
      case Right(tx) => context.forward(record.withValue(Decoded.Accepted(tx)))
      case Left(reason) => context.forward(rejected(record, reason))
    }

  private def rejected(record: FixedKeyRecord[Array[Byte], Array[Byte]], reason: String): FixedKeyRecord[Array[Byte], Decoded] = {
    val meta = context.recordMetadata()
    val topic = if (meta.isPresent) meta.get.topic else "unknown"
    val partition = if (meta.isPresent) meta.get.partition.toString else "-1"
    val offset = if (meta.isPresent) meta.get.offset.toString else "-1"
    val oneLineReason = reason.replaceAll("[\\r\\n]+", " ")
    log.warn(s"dead-lettering record topic=$topic partition=$partition offset=$offset reason=$oneLineReason")
    // A copy, so the input record's own headers object is never changed under Streams.
    val headers = new RecordHeaders(record.headers.toArray)
    headers.add(DlqHeaders.Reason, oneLineReason.getBytes(UTF_8))
    headers.add(DlqHeaders.SourceTopic, topic.getBytes(UTF_8))
    headers.add(DlqHeaders.SourcePartition, partition.getBytes(UTF_8))
    headers.add(DlqHeaders.SourceOffset, offset.getBytes(UTF_8))
    record.withValue[Decoded](Decoded.Rejected(record.value)).withHeaders(headers)
  }
}
