package txpipe.consumer.security

import java.util.concurrent.ExecutionException

import scala.jdk.CollectionConverters._

import org.apache.kafka.common.errors.{
  GroupAuthorizationException,
  SaslAuthenticationException,
  SslAuthenticationException,
  TimeoutException,
  TopicAuthorizationException,
  TransactionalIdAuthorizationException
}
import org.apache.kafka.streams.errors.StreamsException
import org.scalatest.funsuite.AnyFunSuite

class AccessFailuresSpec extends AnyFunSuite {

  test("each refusal by the cluster gets one line naming its cause, however deep it is wrapped") {
    val sasl = new StreamsException(new ExecutionException(new SaslAuthenticationException(
      "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")))
    assert(AccessFailures.explain(sasl).exists(m => m.startsWith("authentication failed") && m.contains("sasl.jaas.config")))
    val tls =
      new SslAuthenticationException("SSL handshake failed", new javax.net.ssl.SSLHandshakeException("PKIX path building failed"))
    assert(AccessFailures.explain(tls).exists(m =>
      m.contains("TLS handshake") && m.contains("PKIX") && m.contains("ssl.truststore.location")))
    val topic = new ExecutionException(new TopicAuthorizationException(Set("tx-totals").asJava))
    assert(AccessFailures.explain(topic).exists(_.contains("not authorized on topic(s) tx-totals")))
    assert(AccessFailures.explain(new GroupAuthorizationException("no", "txpipe-g")).exists(_.contains("consumer group txpipe-g")))
    assert(AccessFailures.explain(new TransactionalIdAuthorizationException("no")).exists(_.contains("TransactionalId")))
  }

  test("other failures are not taken for refusals") {
    assert(AccessFailures.explain(new TimeoutException("slow")).isEmpty)
    assert(AccessFailures.explain(new StreamsException("boom", new IllegalStateException("x"))).isEmpty)
    val e = new IllegalStateException("x")
    assert(AccessFailures.rethrowable(e) eq e)
    assert(AccessFailures.rethrowable(new SaslAuthenticationException("bad")).isInstanceOf[AccessDenied])
  }
}
