package txpipe.consumer.security

/** The cluster refused this consumer (authentication, TLS trust or authorization): retrying cannot
  * help until an operator changes the settings or the grants, so the consumer stops with the message. */
final class AccessDenied(message: String, cause: Throwable) extends RuntimeException(message, cause)
