package txpipe.consumer.output

import java.io.ByteArrayOutputStream
import java.nio.charset.StandardCharsets.UTF_8

import org.apache.kafka.clients.producer.{ProducerConfig, RecordMetadata}
import org.apache.kafka.common.TopicPartition
import org.apache.kafka.streams.StreamsConfig
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.{Main, Options}

/** The rule "a line is written out before the Kafka transaction holding its record commits" rests
  * on the Streams producer's interceptor writing out the buffer on every completion. */
class LinesFlushedOnAckSpec extends AnyFunSuite {

  private val ack = new RecordMetadata(new TopicPartition("t-totals", 0), 0L, 0, 0L, 0, 0)

  private def idleLines(out: ByteArrayOutputStream) =
    // The flusher would wait an hour: only the interceptor can write these lines out in time.
    new BufferedLines(out, maxDelayMillis = 3600000L)

  test("a completion writes out the lines still buffered, failed sends included") {
    val out = new ByteArrayOutputStream()
    val lines = idleLines(out)
    val interceptor = new LinesFlushedOnAck(lines)
    lines.write("(ACC-1, 1.00)".getBytes(UTF_8))
    assert(out.size == 0, "buffered until a completion")
    interceptor.onAcknowledgement(ack, null)
    assert(new String(out.toByteArray, UTF_8) == "(ACC-1, 1.00)\n")
    lines.write("(ACC-2, 2.00)".getBytes(UTF_8))
    interceptor.onAcknowledgement(ack, new RuntimeException("send failed"))
    assert(new String(out.toByteArray, UTF_8) == "(ACC-1, 1.00)\n(ACC-2, 2.00)\n")
  }

  test("the Streams producer gets the interceptor, from the no-argument constructor Kafka calls") {
    val options = Options.parse(Seq("-b", "127.0.0.1:9092", "-s", "http://127.0.0.1:8081", "-t", "tx", "-g", "grp")).toOption.get
    val producer = new StreamsConfig(Main.streamsConfig(options, 6)).getProducerConfigs("client")
    assert(producer.get(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG) == classOf[LinesFlushedOnAck].getName)
    assert(new LinesFlushedOnAck().isInstanceOf[LinesFlushedOnAck])
  }
}
