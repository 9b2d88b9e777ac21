package txpipe.consumer.decoding

/** A message type: its fields, and the message types nested in it, in declaration order. */
final case class MessageOutline(name: String, nested: Vector[MessageOutline], fields: Vector[FieldOutline] = Vector.empty)
