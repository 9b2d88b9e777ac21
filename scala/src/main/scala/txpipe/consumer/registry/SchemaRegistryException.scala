package txpipe.consumer.registry

/** A registry failure that is the consumer's problem, not the record's: it never sends a record
  * to the DLQ, it stops processing. */
sealed abstract class SchemaRegistryException(message: String) extends RuntimeException(message)

/** The registry refused the consumer's credentials (HTTP 401 or 403): nothing can be decoded until an operator fixes them. */
final class RegistryAuthenticationFailed(message: String) extends SchemaRegistryException(message)

/** The registry's TLS certificate is not trusted: nothing can be decoded until an operator fixes the trust. */
final class RegistryTrustFailed(message: String) extends SchemaRegistryException(message)

/** The consumer is shutting down while a lookup waited for the registry; the record is read again after a restart. */
final class RegistryLookupAbandoned(message: String) extends SchemaRegistryException(message)
