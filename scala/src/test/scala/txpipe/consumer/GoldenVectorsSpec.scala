package txpipe.consumer

import java.math.BigDecimal
import java.nio.file.Files

import scala.jdk.CollectionConverters._

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import com.google.protobuf.timestamp.Timestamp
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.decoding.{SchemaCheck, TransactionDecoder, WireFormat}
import txpipe.v1.Transaction
import txpipe.consumer.registry.RegisteredSchema
import txpipe.consumer.totals.Amounts

/** The wire vectors the Python side writes: both implementations must read them the same way. */
class GoldenVectorsSpec extends AnyFunSuite {

  private val file = ProjectPaths.repoRoot.resolve("tests/golden/wire_vectors.json")

  // The error keywords of the vectors, matched against this side's reason texts.
  private val reasonMatches: Map[String, String => Boolean] = Map(
    "too_short" -> (r => r.contains("shorter than") || r.contains("is null")),
    "magic" -> (_.contains("magic byte")),
    "message_index" -> (r => r.contains("message-index") || r.contains("message index")),
    "schema" -> (_.contains("schema id")),
    "protobuf" -> (_.contains("protobuf")),
    "amount" -> (_.startsWith("amount")),
    "account_number" -> (_.contains("account_number")),
    "key" -> (_.contains("record key"))
  )

  private def load(): JsonNode = {
    assume(Files.exists(file), s"$file not written yet")
    new ObjectMapper().readTree(file.toFile)
  }

  private def expectedTransaction(j: JsonNode): Transaction = {
    val ts = j.get("transaction_datetime")
    Transaction(
      transactionId = j.get("transaction_id").asText,
      accountNumber = j.get("account_number").asText,
      transactionReference = j.get("transaction_reference").asText,
      transactionDatetime = Option(ts).filterNot(_.isNull).map(t => Timestamp(t.get("seconds").asLong, t.get("nanos").asInt)),
      amount = j.get("amount").asDouble
    )
  }

  test("every golden vector decodes, or is rejected for the stated reason") {
    val root = load()
    val schemaId = root.get("schema_id").asInt
    val protoText =
      new String(Files.readAllBytes(ProjectPaths.repoRoot.resolve("proto").resolve(root.get("schema_proto_file").asText)), "UTF-8")
    val decoder = new TransactionDecoder(new SchemaCheck(
      new InMemorySchemaRegistry(Map(schemaId -> RegisteredSchema("PROTOBUF", protoText))),
      "txpipe.v1.Transaction"))
    val cases = root.get("cases").elements().asScala.toVector
    assert(cases.nonEmpty)
    assert(cases.exists(_.get("valid").asBoolean) && cases.exists(!_.get("valid").asBoolean))

    for (c <- cases) {
      val name = c.get("name").asText
      val value = TestFrames.hex(c.get("hex").asText)
      withClue(s"case $name: ") {
        if (c.get("valid").asBoolean) {
          val key = c.get("transaction").get("account_number").asText.getBytes("UTF-8")
          val tx = decoder.decode(key, value).fold(r => fail(s"rejected: $r"), _.transaction)
          val expected = expectedTransaction(c.get("transaction"))
          assert(tx == expected)
          assert(java.lang.Double.doubleToRawLongBits(tx.amount) == java.lang.Double.doubleToRawLongBits(expected.amount))
          val decimal = new BigDecimal(c.get("amount_decimal").asText)
          assert(Amounts.fromDouble(tx.amount) == decimal.stripTrailingZeros)
          Option(c.get("message_indexes")).foreach { idx =>
            assert(WireFormat.parse(value).map(_.messageIndexes) == Right(idx.elements().asScala.map(_.asInt).toVector))
          }
        } else {
          val reason = decoder.decode(null, value).fold(identity, tx => fail(s"accepted: $tx"))
          val keyword = c.get("error").asText
          reasonMatches.get(keyword).foreach(matches => assert(matches(reason), s"reason '$reason' is not a '$keyword' error"))
        }
      }
    }
  }
}
