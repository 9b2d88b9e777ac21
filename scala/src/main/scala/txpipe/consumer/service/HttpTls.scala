package txpipe.consumer.service

import java.io.{ByteArrayInputStream, IOException}
import java.nio.file.{Files, Paths}
import java.security.{GeneralSecurityException, KeyStore}
import java.security.cert.X509Certificate
import javax.net.ssl.{KeyManagerFactory, SSLContext, TrustManagerFactory}

import scala.jdk.CollectionConverters._

import txpipe.consumer.security.ClientConfig

/** TLS of the consumer's HTTP service, from the `http.` keys of the client config file:
  * `http.ssl.keystore.location` / `.password` / `.type` (PKCS12 or JKS) turn HTTPS on with that
  * key and certificate; `http.ssl.truststore.location` / `.password` / `.type` (PEM, PKCS12, JKS)
  * is what a forwarded request trusts in the owner's certificate (the JVM's trust without it).
  * Passwords come from the file only, never the command line, and are never logged. */
final case class HttpTls(server: Option[SSLContext], client: Option[SSLContext]) {
  override def toString: String = s"HttpTls(https=${server.isDefined}, trust=${client.isDefined})"
}

/** Reading of the HTTP service's TLS settings. */
object HttpTls {

  /** Plain HTTP. */
  val Off: HttpTls = HttpTls(None, None)

  private val Known = Set(
    "ssl.keystore.location", "ssl.keystore.password", "ssl.keystore.type", "ssl.key.password",
    "ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.type")

  /** The settings in `http` (keys without their `http.` prefix), or what is wrong with them (never a value). */
  def from(http: Map[String, String]): Either[String, HttpTls] = {
    val unknown = http.keySet -- Known
    if (unknown.nonEmpty)
      return Left(s"unknown HTTP service settings: ${unknown.toSeq.sorted.map(ClientConfig.HttpPrefix + _).mkString(", ")} " +
        s"(known: ${Known.toSeq.sorted.map(ClientConfig.HttpPrefix + _).mkString(", ")})")
    for {
      server <- http.get("ssl.keystore.location").filter(_.nonEmpty) match {
        case None => Right(None)
        case Some(location) =>
          val password = http.get("ssl.keystore.password").map(_.toCharArray).orNull
          load(location, http.getOrElse("ssl.keystore.type", kindOf(location, "PKCS12")), password, "ssl.keystore").map { ks =>
            val kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm)
            kmf.init(ks, http.get("ssl.key.password").map(_.toCharArray).getOrElse(password))
            val ctx = SSLContext.getInstance("TLS")
            ctx.init(kmf.getKeyManagers, null, null)
            Some(ctx)
          }
      }
      client <- http.get("ssl.truststore.location").filter(_.nonEmpty) match {
        case None => Right(None)
        case Some(location) =>
          val password = http.get("ssl.truststore.password").map(_.toCharArray).orNull
          load(location, http.getOrElse("ssl.truststore.type", kindOf(location, "PEM")), password, "ssl.truststore").map { ts =>
            val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm)
            tmf.init(ts)
            val ctx = SSLContext.getInstance("TLS")
            ctx.init(null, tmf.getTrustManagers, null)
            Some(ctx)
          }
      }
    } yield HttpTls(server, client)
  }

  private def kindOf(location: String, otherwise: String): String =
    if (location.endsWith(".p12") || location.endsWith(".pfx")) "PKCS12"
    else if (location.endsWith(".jks")) "JKS"
    else if (location.endsWith(".pem") || location.endsWith(".crt")) "PEM"
    else otherwise

  private def load(location: String, kind: String, password: Array[Char], key: String): Either[String, KeyStore] =
    try {
      val path = Paths.get(location)
      val upper = kind.toUpperCase
      if (upper == "PEM") {
        val certs = java.security.cert.CertificateFactory
          .getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(path)))
        val ks = KeyStore.getInstance(KeyStore.getDefaultType)
        ks.load(null, null)
        certs.asScala.zipWithIndex.foreach { case (c, i) => ks.setCertificateEntry(s"ca-$i", c.asInstanceOf[X509Certificate]) }
        Right(ks)
      } else {
        val ks = KeyStore.getInstance(upper)
        val in = Files.newInputStream(path)
        try ks.load(in, password)
        finally in.close()
        Right(ks)
      }
    } catch {
      case e @ (_: IOException | _: GeneralSecurityException) =>
        Left(s"${ClientConfig.HttpPrefix}$key.location $location ($kind) cannot be used: ${e.getClass.getSimpleName}: ${e.getMessage}")
    }
}
