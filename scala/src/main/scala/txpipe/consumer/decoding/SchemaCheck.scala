package txpipe.consumer.decoding

import java.util.concurrent.ConcurrentHashMap

import txpipe.consumer.registry.{RegisteredSchema, SchemaRegistry}

/** Decides, once per (schema id, message indexes), whether a frame carries the expected message. */
final class SchemaCheck(registry: SchemaRegistry, expectedMessage: String) {

  import SchemaCheck.{Decided, Key}

  // A decision on a schema the registry has depends only on immutable registry content, so it
  // is kept: after the first record of a schema the hot path is a single map lookup. "Unknown
  // id" is not kept here: the registry client decides when to ask again.
  private val decisions = new ConcurrentHashMap[Key, Option[String]]()
  // The last decision taken, checked before the map: nearly every record repeats the one
  // before, and the map's key hashes its index vector.
  @volatile private var last: Decided = Decided(-1, Vector.empty, None)

  /** None when the frame names `expectedMessage`, otherwise Some(reason). */
  def rejection(frame: Frame): Option[String] = {
    val recent = last
    if (recent.schemaId == frame.schemaId && ((recent.indexes eq frame.messageIndexes) || recent.indexes == frame.messageIndexes))
      return recent.decision
    val key = Key(frame.schemaId, frame.messageIndexes)
    val cached = decisions.get(key)
    val decision =
      if (cached != null) cached
      else {
        // Not computeIfAbsent: the lookup may block on a registry outage for a long time.
        val schema = registry.schemaById(frame.schemaId)
        val decided = decide(frame, schema)
        if (schema.isEmpty) return decided
        // Frames naming ever new schema ids must not grow the map for months: start over.
        if (decisions.size >= SchemaCheck.MaxDecisions) decisions.clear()
        decisions.put(key, decided)
        decided
      }
    last = Decided(frame.schemaId, frame.messageIndexes, decision)
    decision
  }

  /** The decisions held: for tests of the bound. */
  private[decoding] def decisionCount: Int = decisions.size

  private def decide(frame: Frame, schema: Option[RegisteredSchema]): Option[String] = {
    val id = frame.schemaId
    schema match {
      case None => Some(s"schema id $id is unknown to the registry")
      // The Confluent API leaves schemaType out for AVRO, its original and default type.
      case Some(s) if s.schemaType != "PROTOBUF" =>
        Some(s"schema id $id is ${if (s.schemaType.isEmpty) "AVRO" else s.schemaType} (not PROTOBUF): this topic carries protobuf transactions")
      case Some(s) =>
        SchemaOutline.parse(s.schema).flatMap(_.resolveMessage(frame.messageIndexes)) match {
          case Left(why) => Some(s"schema id $id: $why")
          case Right((name, _)) if name != expectedMessage =>
            Some(s"message index path ${frame.messageIndexes.mkString("[", ", ", "]")} of schema id $id is $name, not $expectedMessage")
          case Right((name, message)) => TransactionFields.mismatch(message).map(why => s"schema id $id: $name $why")
        }
    }
  }
}

private object SchemaCheck {
  val MaxDecisions = 10000
  private final case class Key(schemaId: Int, indexes: Vector[Int])
  private final case class Decided(schemaId: Int, indexes: Vector[Int], decision: Option[String])
}
