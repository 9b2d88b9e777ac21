package txpipe.consumer.security

import scala.jdk.CollectionConverters._

import org.apache.kafka.common.errors.{
  AuthenticationException,
  AuthorizationException,
  ClusterAuthorizationException,
  GroupAuthorizationException,
  SaslAuthenticationException,
  SslAuthenticationException,
  TopicAuthorizationException,
  TransactionalIdAuthorizationException
}

/** Tells a refusal by the cluster from other failures, and says in one line what to fix. */
object AccessFailures {

  /** The one-line cause if `e` (or a cause of it) is an authentication, TLS or authorization failure. */
  def explain(e: Throwable): Option[String] =
    causes(e).collectFirst {
      case a: AccessDenied => a.getMessage
      case s: SslAuthenticationException =>
        s"TLS handshake with the brokers failed (${rootMessage(s)}): the brokers' certificate must be signed by a CA in " +
          "ssl.truststore.location, and the listener must speak TLS (security.protocol SSL or SASL_SSL)"
      case s: SaslAuthenticationException =>
        s"authentication failed: ${s.getMessage} (check sasl.mechanism and the user and password in sasl.jaas.config)"
      case a: AuthenticationException => s"authentication failed: ${rootMessage(a)}"
      case t: TopicAuthorizationException =>
        val topics = Option(t.unauthorizedTopics).map(_.asScala.toSeq.sorted.mkString(", ")).filter(_.nonEmpty).getOrElse("?")
        s"not authorized on topic(s) $topics: ${t.getMessage} (see the ACLs this consumer needs in docs/security.md)"
      case g: GroupAuthorizationException =>
        s"not authorized on consumer group ${Option(g.groupId).getOrElse("?")}: ${g.getMessage} (READ on the group is needed)"
      case x: TransactionalIdAuthorizationException =>
        s"not authorized to use its transactional ids: ${x.getMessage} (WRITE and DESCRIBE on TransactionalId prefixed with the group)"
      case c: ClusterAuthorizationException =>
        s"not authorized on the cluster: ${c.getMessage} (see docs/security.md)"
      case a: AuthorizationException => s"not authorized: ${a.getMessage} (see docs/security.md)"
    }

  /** `e` as an [[AccessDenied]] if it is a refusal by the cluster, else `e` itself. */
  def rethrowable(e: Throwable): Throwable = explain(e).map(m => new AccessDenied(m, e)).getOrElse(e)

  private def causes(e: Throwable): Iterator[Throwable] = Iterator.iterate(e)(_.getCause).takeWhile(_ != null).take(20)

  private def rootMessage(e: Throwable): String = {
    val root = causes(e).toSeq.last
    s"${root.getClass.getSimpleName}: ${root.getMessage}"
  }
}
