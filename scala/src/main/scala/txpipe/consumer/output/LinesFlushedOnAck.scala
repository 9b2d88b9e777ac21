package txpipe.consumer.output

import java.util

import org.apache.kafka.clients.producer.{ProducerInterceptor, ProducerRecord, RecordMetadata}

/** Writes out the buffered "(account, total)" lines whenever the Streams producer hears back
  * about a record it sent.
  *
  * Each line is buffered before its transaction's total is sent, and a Kafka transaction (or,
  * at least once, an offset commit) is committed only after the producer has completed every
  * record sent in it, each completion going through this interceptor first. So no line of a
  * committed record can still be in the buffer. Installed with `producer.interceptor.classes`,
  * which takes the no-argument constructor: standard output's lines.
  */
final class LinesFlushedOnAck(lines: BufferedLines) extends ProducerInterceptor[Array[Byte], Array[Byte]] {

  def this() = this(StdoutLines)

  /** The record as it is: nothing to change on the way out. */
  override def onSend(record: ProducerRecord[Array[Byte], Array[Byte]]): ProducerRecord[Array[Byte], Array[Byte]] = record

  /** Writes out every line buffered so far (nothing to do when none is). */
  override def onAcknowledgement(metadata: RecordMetadata, exception: Exception): Unit = lines.flush()

  override def close(): Unit = ()

  override def configure(configs: util.Map[String, _]): Unit = ()
}
