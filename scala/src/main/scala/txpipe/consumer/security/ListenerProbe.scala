package txpipe.consumer.security

import java.io.IOException
import java.net.{InetSocketAddress, Socket}
import java.security.cert.X509Certificate
import javax.net.ssl.{SSLContext, SSLSocket, TrustManager, X509TrustManager}

/** Finds out, before any Kafka client starts, whether a broker listener speaks TLS while the
  * consumer is set up for plaintext: a Kafka client would then only see the connection close and
  * retry for minutes ("cannot reach Kafka") instead of saying what is wrong.
  */
object ListenerProbe {

  /** Left(the one-line cause) if `security.protocol` is PLAINTEXT or SASL_PLAINTEXT and a bootstrap
    * broker answers a TLS handshake; Right otherwise, also when no broker can be reached yet. */
  def check(bootstrapServers: String, securityProtocol: String, timeoutMs: Int = 3000): Either[String, Unit] =
    if (securityProtocol.endsWith("SSL")) Right(())
    else
      addresses(bootstrapServers).iterator
        .map { case (host, port) => if (speaksTls(host, port, timeoutMs)) Some(s"$host:$port") else None }
        .collectFirst { case Some(where) => where } match {
        case Some(where) =>
          Left(s"the broker at $where speaks TLS, but security.protocol is $securityProtocol: set security.protocol=SSL " +
            "or SASL_SSL and the truststore in the client config (--client-config)")
        case None => Right(())
      }

  private def addresses(bootstrapServers: String): Seq[(String, Int)] =
    bootstrapServers.split(',').toSeq.map(_.trim).filter(_.nonEmpty).flatMap { hp =>
      val i = hp.lastIndexOf(':')
      if (i <= 0) None else hp.substring(i + 1).toIntOption.map(p => hp.substring(0, i).stripPrefix("[").stripSuffix("]") -> p)
    }

  // Trust does not matter here: the handshake only shows which protocol the listener speaks, and
  // the connection is closed right after it without sending anything.
  private val anyServer: SSLContext = {
    val trustAll = new X509TrustManager {
      override def checkClientTrusted(chain: Array[X509Certificate], authType: String): Unit = ()
      override def checkServerTrusted(chain: Array[X509Certificate], authType: String): Unit = ()
      override def getAcceptedIssuers: Array[X509Certificate] = Array.empty
    }
    val ctx = SSLContext.getInstance("TLS")
    ctx.init(null, Array[TrustManager](trustAll), null)
    ctx
  }

  private def speaksTls(host: String, port: Int, timeoutMs: Int): Boolean = {
    val plain = new Socket()
    try {
      plain.connect(new InetSocketAddress(host, port), timeoutMs)
      plain.setSoTimeout(timeoutMs)
      val tls = anyServer.getSocketFactory.createSocket(plain, host, port, true).asInstanceOf[SSLSocket]
      try {
        tls.startHandshake()
        true
      } finally tls.close()
    } catch {
      // Refused, unreachable, not TLS, or a TLS listener that wants a client certificate first.
      case e: IOException =>
        Option(e.getMessage).map(_.toLowerCase).exists(m => m.contains("bad_certificate") || m.contains("certificate_required"))
    } finally plain.close()
  }
}
