package txpipe.consumer

import java.util.concurrent.atomic.AtomicInteger
import txpipe.consumer.registry.{RegisteredSchema, SchemaRegistry}

/** A registry held in a map, counting lookups so tests can see the cache at work. */
final class InMemorySchemaRegistry(schemas: Map[Int, RegisteredSchema]) extends SchemaRegistry {
  val lookups = new AtomicInteger()
  override def schemaById(id: Int): Option[RegisteredSchema] = {
    lookups.incrementAndGet()
    schemas.get(id)
  }
}
