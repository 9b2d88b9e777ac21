package txpipe.consumer.decoding

/** A record value split along the Confluent framing; the payload stays in the original array.
  *
  * @param schemaId       registry id of the writer's schema
  * @param messageIndexes path to the message type within that schema ([0] = first top-level message)
  * @param payloadOffset  where the protobuf payload starts in the record value
  */
final case class Frame(schemaId: Int, messageIndexes: Vector[Int], payloadOffset: Int)
