package txpipe.consumer.decoding

import java.util.Base64

import com.google.protobuf.DescriptorProtos.{DescriptorProto, FileDescriptorProto}
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.{InMemorySchemaRegistry, TestFrames}
import txpipe.consumer.registry.RegisteredSchema

class SchemaOutlineSpec extends AnyFunSuite {

  private val nestedText =
    """// header comment with message Fake { }
      |syntax = "proto3";
      |package txpipe.v1;
      |import "google/protobuf/timestamp.proto";
      |option java_package = "x.y { not a block";
      |/* message Hidden { } */
      |message Envelope {
      |  message Inner { message Deeper {} }
      |  enum Kind { A = 0; }
      |  message Transaction { string message = 1; }
      |  oneof body { string text = 2; }
      |  map<string, Inner> things = 3;
      |}
      |service Svc { rpc Call (Envelope) returns (Envelope) { option deprecated = true; } }
      |message Transaction {
      |  string account_number = 2 [json_name = "acc"];
      |  option (my.opt) = { message: "x" };
      |  string transaction_id = 1; string transaction_reference = 3;
      |  .google.protobuf.Timestamp transaction_datetime = 4;
      |  optional double amount = 5 [deprecated = false];
      |}
      |""".stripMargin

  test("top-level messages of the real transaction.proto") {
    val outline = SchemaOutline.parse(TestFrames.TransactionProtoText).fold(fail(_), identity)
    assert(outline.packageName == "txpipe.v1")
    assert(outline.messages.map(_.name) == Vector("Transaction"))
    assert(outline.resolve(Seq(0)) == Right("txpipe.v1.Transaction"))
  }

  test("nested messages in declaration order, ignoring comments, strings and other blocks") {
    val outline = SchemaOutline.parse(nestedText).fold(fail(_), identity)
    assert(outline.messages.map(_.name) == Vector("Envelope", "Transaction"))
    assert(outline.messages(0).nested.map(_.name) == Vector("Inner", "Transaction"))
    assert(outline.resolve(Seq(1)) == Right("txpipe.v1.Transaction"))
    assert(outline.resolve(Seq(0, 1)) == Right("txpipe.v1.Envelope.Transaction"))
    assert(outline.resolve(Seq(0, 0, 0)) == Right("txpipe.v1.Envelope.Inner.Deeper"))
    assert(outline.resolve(Seq(2)).isLeft)
    assert(outline.resolve(Seq(0, 5)).isLeft)
  }

  test("base64 serialized FileDescriptorProto, as confluent-kafka-python registers it") {
    val file = FileDescriptorProto.newBuilder()
      .setName("transaction.proto").setPackage("txpipe.v1").setSyntax("proto3")
      .addMessageType(DescriptorProto.newBuilder().setName("Other")
        .addNestedType(DescriptorProto.newBuilder().setName("Transaction")))
      .addMessageType(DescriptorProto.newBuilder().setName("Transaction"))
      .build()
    val encoded = Base64.getEncoder.encodeToString(file.toByteArray)
    val outline = SchemaOutline.parse(encoded).fold(fail(_), identity)
    assert(outline.resolve(Seq(1)) == Right("txpipe.v1.Transaction"))
    assert(outline.resolve(Seq(0, 0)) == Right("txpipe.v1.Other.Transaction"))
    // The generated descriptor of the real file works the same way.
    val real = Base64.getEncoder.encodeToString(txpipe.v1.TransactionProto.javaDescriptor.toProto.toByteArray)
    assert(SchemaOutline.parse(real).flatMap(_.resolve(Seq(0))) == Right("txpipe.v1.Transaction"))
  }

  test("unreadable schemas") {
    assert(SchemaOutline.parse("").isLeft)
    assert(SchemaOutline.parse("message A {").isLeft)
    assert(SchemaOutline.parse("message A { } }").isLeft)
    assert(SchemaOutline.parse("AAAA").isLeft) // base64 of bytes that are no descriptor
  }

  test("schema check accepts only txpipe.v1.Transaction with the five fields, caches each decision, not unknown ids") {
    val registry = new InMemorySchemaRegistry(Map(
      1 -> RegisteredSchema("PROTOBUF", TestFrames.TransactionProtoText),
      2 -> RegisteredSchema("PROTOBUF", nestedText),
      3 -> RegisteredSchema("AVRO", """{"type":"string"}"""),
      4 -> RegisteredSchema("", TestFrames.TransactionProtoText)
    ))
    val check = new SchemaCheck(registry, "txpipe.v1.Transaction")
    assert(check.rejection(Frame(1, Vector(0), 6)).isEmpty)
    assert(check.rejection(Frame(1, Vector(0), 6)).isEmpty)
    assert(registry.lookups.get == 1)
    assert(check.rejection(Frame(2, Vector(1), 6)).isEmpty)
    assert(check.rejection(Frame(2, Vector(0, 1), 6)).exists(_.contains("txpipe.v1.Envelope.Transaction")))
    assert(check.rejection(Frame(2, Vector(0), 6)).exists(_.contains("txpipe.v1.Envelope")))
    assert(check.rejection(Frame(1, Vector(1), 6)).exists(_.contains("points past")))
    assert(check.rejection(Frame(3, Vector(0), 6)).exists(_.contains("AVRO")))
    // The Confluent API leaves the type out for AVRO.
    assert(check.rejection(Frame(4, Vector(0), 6)).exists(_.contains("is AVRO")))
    assert(check.rejection(Frame(99, Vector(0), 6)) == Some("schema id 99 is unknown to the registry"))
    val before = registry.lookups.get
    check.rejection(Frame(1, Vector(0), 6))
    assert(registry.lookups.get == before)
    // The registry client decides when an unknown id is asked again: the check does not keep it.
    check.rejection(Frame(99, Vector(0), 6))
    assert(registry.lookups.get == before + 1)
  }
}
