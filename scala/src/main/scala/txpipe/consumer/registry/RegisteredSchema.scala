package txpipe.consumer.registry

/** A schema as the registry returns it.
  *
  * @param schemaType "PROTOBUF", "AVRO", "JSON", or "" when the registry left it out
  * @param schema     .proto text, or a base64 serialized FileDescriptorProto
  */
final case class RegisteredSchema(schemaType: String, schema: String)
