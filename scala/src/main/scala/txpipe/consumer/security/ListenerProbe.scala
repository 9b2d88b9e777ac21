package txpipe.consumer.security

import java.io.IOException
import java.net.{InetSocketAddress, Socket}
import java.security.cert.X509Certificate
import javax.net.ssl.{SSLContext, SSLSocket, TrustManager, X509TrustManager}

/** Finds out, before any Kafka client starts, whether a broker listener speaks TLS while the
  * consumer is set up for plaintext. A Kafka client would then read the TLS alert's bytes as the
  * size of a response and try to allocate hundreds of megabytes (the JVM ends with an
  * OutOfMemoryError), or retry for minutes, instead of saying what is wrong.
  *
  * A plaintext listener is asked the protocol's first question (ApiVersions v0, which a broker
  * answers before any authentication) and is left alone once it answers like Kafka; only a
  * listener that does not is then offered a TLS handshake.
  */
object ListenerProbe {

  /** Left(the one-line cause) if `security.protocol` is PLAINTEXT or SASL_PLAINTEXT and a bootstrap
    * broker answers a TLS handshake; Right otherwise, also when no broker can be reached yet. */
  def check(bootstrapServers: String, securityProtocol: String, timeoutMs: Int = 3000): Either[String, Unit] =
    if (securityProtocol.endsWith("SSL")) Right(())
    else
      addresses(bootstrapServers).iterator
        .map { case (host, port) =>
          if (!answersKafka(host, port, timeoutMs) && speaksTls(host, port, timeoutMs)) Some(s"$host:$port") else None
        }
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

  // ApiVersions v0: size, api key 18, version 0, correlation id, client id "txpipe-probe".
  private val ApiVersionsV0: Array[Byte] = {
    val clientId = "txpipe-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII)
    val body = java.nio.ByteBuffer.allocate(2 + 2 + 4 + 2 + clientId.length)
    body.putShort(18.toShort).putShort(0.toShort).putInt(0x7478).putShort(clientId.length.toShort).put(clientId)
    java.nio.ByteBuffer.allocate(4 + body.capacity).putInt(body.capacity).put(body.array()).array()
  }

  // True if the listener answers in plaintext Kafka: a plausible size, then our correlation id.
  private def answersKafka(host: String, port: Int, timeoutMs: Int): Boolean = {
    val s = new Socket()
    try {
      s.connect(new InetSocketAddress(host, port), timeoutMs)
      s.setSoTimeout(timeoutMs)
      s.getOutputStream.write(ApiVersionsV0)
      s.getOutputStream.flush()
      val in = new java.io.DataInputStream(s.getInputStream)
      val size = in.readInt()
      size > 4 && size < (1 << 20) && in.readInt() == 0x7478
    } catch {
      case _: IOException => false
    } finally s.close()
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
