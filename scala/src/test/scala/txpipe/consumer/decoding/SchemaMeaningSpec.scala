package txpipe.consumer.decoding

import java.util.Base64

import com.google.protobuf.DescriptorProtos.{DescriptorProto, FieldDescriptorProto, FileDescriptorProto}
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.{InMemorySchemaRegistry, TestFrames}
import txpipe.consumer.registry.{RegisteredSchema, SchemaRegistry}

/** The writer's schema must mean what the consumer reads: the five fields, by number and type. */
class SchemaMeaningSpec extends AnyFunSuite {

  private val V1 = TestFrames.TransactionProtoText
  private val V2 = V1.replace("double amount = 5;", "double amount = 5;\n  string channel = 6;\n  repeated string tags = 7;")
  private val AmountAsString = V1.replace("double amount = 5;", "string amount = 5;")
  private val AmountMoved = V1.replace("double amount = 5;", "double amount = 6;")
  private val AmountRepeated = V1.replace("double amount = 5;", "repeated double amount = 5;")
  private val Renamed = V1.replace("double amount = 5;", "double value = 5;")
  private val InOneof = V1.replace("double amount = 5;", "oneof how { double amount = 5; string note = 9; }")
  private val WithOptions = V1.replace(
    "message Transaction {",
    "message Transaction {\n  option deprecated = false;\n  reserved 8, 9 to 11;\n  map<string, int32> extra = 12;\n  enum Kind { UNKNOWN = 0; DEBIT = 1; CREDIT = 5; }"
  )

  private def descriptorBase64(amountType: FieldDescriptorProto.Type): String = {
    def field(name: String, n: Int, t: FieldDescriptorProto.Type, typeName: String = "") = {
      val b =
        FieldDescriptorProto.newBuilder().setName(name).setNumber(n).setType(t).setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL)
      if (typeName.nonEmpty) b.setTypeName(typeName)
      b.build()
    }
    val message = DescriptorProto.newBuilder().setName("Transaction")
      .addField(field("transaction_id", 1, FieldDescriptorProto.Type.TYPE_STRING))
      .addField(field("account_number", 2, FieldDescriptorProto.Type.TYPE_STRING))
      .addField(field("transaction_reference", 3, FieldDescriptorProto.Type.TYPE_STRING))
      .addField(field("transaction_datetime", 4, FieldDescriptorProto.Type.TYPE_MESSAGE, ".google.protobuf.Timestamp"))
      .addField(field("amount", 5, amountType))
    Base64.getEncoder.encodeToString(FileDescriptorProto.newBuilder().setPackage("txpipe.v1").addMessageType(message).build().toByteArray)
  }

  private val schemas = Map(
    1 -> RegisteredSchema("PROTOBUF", V1),
    2 -> RegisteredSchema("PROTOBUF", V2),
    3 -> RegisteredSchema("PROTOBUF", AmountAsString),
    4 -> RegisteredSchema("PROTOBUF", AmountMoved),
    5 -> RegisteredSchema("PROTOBUF", AmountRepeated),
    6 -> RegisteredSchema("PROTOBUF", Renamed),
    7 -> RegisteredSchema("PROTOBUF", InOneof),
    8 -> RegisteredSchema("PROTOBUF", WithOptions),
    9 -> RegisteredSchema("", """{"type":"record","name":"Transaction","fields":[]}"""),
    10 -> RegisteredSchema("JSON", """{"type":"object"}"""),
    11 -> RegisteredSchema("PROTOBUF", descriptorBase64(FieldDescriptorProto.Type.TYPE_DOUBLE)),
    12 -> RegisteredSchema("PROTOBUF", descriptorBase64(FieldDescriptorProto.Type.TYPE_FLOAT))
  )
  private val check = new SchemaCheck(new InMemorySchemaRegistry(schemas), "txpipe.v1.Transaction")
  private val decoder = new TransactionDecoder(check)
  private def decode(schemaId: Int) =
    decoder.decode(null, TestFrames.frame(schemaId, TestFrames.transaction("ACC-1", 2.5, "t").toByteArray)).map(_.transaction)

  test("the brief's schema, a v2 that adds fields, a field renamed, in a oneof, or among options, enums and maps: counted") {
    for (id <- Seq(1, 2, 6, 7, 8, 11)) withClue(s"schema $id: ")(assert(decode(id).map(_.amount) == Right(2.5)))
  }

  test("amount as a string, under another number, or repeated: dead-lettered with the reason") {
    assert(decode(3) == Left("schema id 3: txpipe.v1.Transaction declares field 5 (amount) as string, not double (amount)"))
    assert(decode(4) == Left("schema id 4: txpipe.v1.Transaction has no field 5 (amount double)"))
    assert(decode(5) == Left("schema id 5: txpipe.v1.Transaction declares field 5 (amount) repeated, not a single double"))
    assert(decode(12) == Left("schema id 12: txpipe.v1.Transaction declares field 5 (amount) as float, not double (amount)"))
  }

  test("an AVRO schema id (the Confluent API leaves the type out) and a JSON one say what they are") {
    assert(decode(9) == Left("schema id 9 is AVRO (not PROTOBUF): this topic carries protobuf transactions"))
    assert(decode(10) == Left("schema id 10 is JSON (not PROTOBUF): this topic carries protobuf transactions"))
  }

  test("fields of the text outline: numbers, types, labels, nested and oneof members") {
    val outline = SchemaOutline.parse(V2).flatMap(_.resolveMessage(Seq(0))).map(_._2).getOrElse(fail("no outline"))
    assert(outline.fields.map(f => (f.number, f.name, f.typeName, f.repeated)) == Vector(
      (1, "transaction_id", "string", false),
      (2, "account_number", "string", false),
      (3, "transaction_reference", "string", false),
      (4, "transaction_datetime", "google.protobuf.Timestamp", false),
      (5, "amount", "double", false),
      (6, "channel", "string", false),
      (7, "tags", "string", true)
    ))
    val withOptions = SchemaOutline.parse(WithOptions).flatMap(_.resolveMessage(Seq(0))).map(_._2).getOrElse(fail("no outline"))
    assert(withOptions.fields.map(_.number).sorted == Vector(1, 2, 3, 4, 5, 12))
  }

  test("frames naming ever new schema ids never hold more than the cap of decisions") {
    val anyId = new SchemaRegistry {
      override def schemaById(id: Int): Option[RegisteredSchema] = Some(RegisteredSchema("PROTOBUF", V1))
    }
    val check = new SchemaCheck(anyId, "txpipe.v1.Transaction")
    var most = 0
    for (id <- 1 to SchemaCheck.MaxDecisions * 11 / 10) {
      assert(check.rejection(Frame(id, Vector(0), 6)).isEmpty)
      most = math.max(most, check.decisionCount)
    }
    assert(most == SchemaCheck.MaxDecisions, most)
    assert(check.decisionCount < SchemaCheck.MaxDecisions)
  }
}
