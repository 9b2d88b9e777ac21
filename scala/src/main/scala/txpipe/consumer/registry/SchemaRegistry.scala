package txpipe.consumer.registry

/** Looks up the schemas that record values name by id. */
trait SchemaRegistry {

  /** The schema registered under `id`, or None when the registry says it has no such id. */
  def schemaById(id: Int): Option[RegisteredSchema]
}
