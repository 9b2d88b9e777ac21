package txpipe.consumer

import java.nio.charset.StandardCharsets.UTF_8
import java.util.Properties

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.common.serialization.{ByteArrayDeserializer, ByteArraySerializer}
import org.apache.kafka.streams.test.TestRecord
import org.apache.kafka.streams.{StreamsConfig, TopologyTestDriver}
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.decoding.FieldLimits
import txpipe.consumer.output.DlqHeaders
import txpipe.v1.Transaction
import txpipe.consumer.registry.RegisteredSchema

/** No record, however large, stops the consumer: over a limit it goes to the DLQ, and a dead
  * letter too large for the DLQ becomes a marker. */
class LimitsSpec extends AnyFunSuite {

  private val Topic = "transactions"
  private val registry = new InMemorySchemaRegistry(Map(1 -> RegisteredSchema("PROTOBUF", TestFrames.TransactionProtoText)))

  private final class Fixture(val driver: TopologyTestDriver, val lines: mutable.Buffer[String]) {
    val input = driver.createInputTopic(Topic, new ByteArraySerializer, new ByteArraySerializer)
    val dlq = driver.createOutputTopic(TransactionTopology.dlqTopic(Topic), new ByteArrayDeserializer, new ByteArrayDeserializer)
    def send(tx: Transaction, headers: RecordHeaders = new RecordHeaders()): Unit =
      input.pipeInput(new TestRecord(tx.accountNumber.getBytes(UTF_8), TestFrames.frame(1, tx.toByteArray), headers))
    def reasons: Vector[String] =
      dlq.readRecordsToList().asScala.toVector.map(r => new String(r.headers.lastHeader(DlqHeaders.Reason).value, UTF_8))
  }

  private def withDriver(dlqMaxRecordBytes: Int = TransactionTopology.DefaultDlqMaxRecordBytes)(body: Fixture => Unit): Unit = {
    val lines = mutable.ArrayBuffer.empty[String]
    val props = new Properties()
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "txpipe-limits-test")
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9")
    TempDirs.withTempDir("txpipe-limits") { dir =>
      props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString)
      val topology = TransactionTopology.createTopology(
        Topic,
        "txpipe-test",
        registry,
        1,
        line => lines += new String(line, UTF_8),
        dlqMaxRecordBytes = dlqMaxRecordBytes)
      val driver = new TopologyTestDriver(topology, props)
      try body(new Fixture(driver, lines))
      finally driver.close()
    }
  }

  private def tx(account: String = "ACC-1", id: String = "id-1", reference: String = "REF"): Transaction =
    TestFrames.transaction(account, 1.0, id).withTransactionReference(reference)

  test("fields at their limits are counted; one byte more goes to the DLQ naming the field, its size and the limit") {
    withDriver() { f =>
      val account = "A" * FieldLimits.MaxAccountBytes
      f.send(tx(account = account, id = "i" * FieldLimits.MaxTransactionIdBytes, reference = "r" * FieldLimits.MaxReferenceBytes))
      assert(f.lines.toVector == Vector(s"($account, 1.00)"))
      f.send(tx(account = "A" * (FieldLimits.MaxAccountBytes + 1)))
      f.send(tx(id = "i" * (FieldLimits.MaxTransactionIdBytes + 1)))
      f.send(tx(reference = "\u00e9" * (FieldLimits.MaxReferenceBytes / 2 + 1))) // two UTF-8 bytes each
      assert(f.reasons == Vector(
        s"account_number is ${FieldLimits.MaxAccountBytes + 1} bytes, over the limit of ${FieldLimits.MaxAccountBytes}",
        s"transaction_id is ${FieldLimits.MaxTransactionIdBytes + 1} bytes, over the limit of ${FieldLimits.MaxTransactionIdBytes}",
        s"transaction_reference is ${FieldLimits.MaxReferenceBytes + 2} bytes, over the limit of ${FieldLimits.MaxReferenceBytes}"
      ))
      assert(f.lines.size == 1)
    }
  }

  test("a 600 KB transaction_id goes to the DLQ as it was, and later records are still counted") {
    withDriver() { f =>
      val big = tx(id = "x" * 600000)
      f.send(big)
      f.send(tx(id = "after"))
      val dead = f.dlq.readRecordsToList().asScala.toVector
      assert(dead.size == 1)
      assert(java.util.Arrays.equals(dead.head.value, TestFrames.frame(1, big.toByteArray)))
      val reason = new String(dead.head.headers.lastHeader(DlqHeaders.Reason).value, UTF_8)
      assert(
        reason.startsWith("record key and value are ") && reason.endsWith(s"over the limit of ${FieldLimits.MaxRecordBytes}"),
        reason)
      assert(f.lines.toVector == Vector("(ACC-1, 1.00)"))
    }
  }

  test("a dead letter larger than the DLQ takes is replaced by a marker keeping source, sizes and reason") {
    withDriver(dlqMaxRecordBytes = 20000) { f =>
      val headers = new RecordHeaders()
      headers.add("trace", Array.fill[Byte](3000)(1))
      val big = tx(reference = "r" * 18000)
      f.send(big, headers)
      f.send(tx(reference = "r" * 600)) // over the field limit, but small enough to copy
      f.send(tx(id = "counted"))
      val dead = f.dlq.readRecordsToList().asScala.toVector
      assert(dead.size == 2)
      val marker = dead.head
      def h(name: String) = new String(marker.headers.lastHeader(name).value, UTF_8)
      assert(marker.key == null && marker.value == null)
      assert(h(DlqHeaders.Reason).contains("over the limit of 16384") &&
        h(DlqHeaders.Reason).contains("too large to copy to the DLQ (limit 20000 bytes)"))
      assert(h(DlqHeaders.SourceTopic) == Topic && h(DlqHeaders.SourcePartition) == "0" && h(DlqHeaders.SourceOffset) == "0")
      assert(h(DlqHeaders.OriginalKeyBytes) == "5")
      assert(h(DlqHeaders.OriginalValueBytes) == TestFrames.frame(1, big.toByteArray).length.toString)
      assert(h(DlqHeaders.OriginalHeaderBytes).toInt >= 3000)
      assert(marker.headers.lastHeader("trace") == null)
      assert(dead(1).value != null && dead(1).headers.lastHeader("trace") == null)
      assert(f.lines.toVector == Vector("(ACC-1, 1.00)"))
    }
  }

  test("a reason is one line of bounded length, whatever the record held") {
    withDriver() { f =>
      f.input.pipeInput(new TestRecord[Array[Byte], Array[Byte]](
        null,
        TestFrames.frame(1, tx().withAccountNumber("K\n" * 60).toByteArray)))
      val reason = f.reasons.head
      assert(!reason.contains("\n") && reason.length < 400, reason)
    }
  }
}
