package txpipe.consumer.decoding

/** A field of a message type as a schema declares it.
  *
  * @param typeName a scalar type ("double", "string", ...) or a message's full name without a leading dot
  */
final case class FieldOutline(name: String, number: Int, typeName: String, repeated: Boolean)
