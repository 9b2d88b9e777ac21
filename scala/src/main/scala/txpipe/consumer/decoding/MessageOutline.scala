package txpipe.consumer.decoding

/** A message type and the message types nested in it, in declaration order. */
final case class MessageOutline(name: String, nested: Vector[MessageOutline])
