package txpipe.consumer.security

import java.io.{ByteArrayInputStream, IOException}
import java.nio.file.{Files, Path, Paths}
import java.security.{GeneralSecurityException, KeyStore}
import java.security.cert.{CertificateFactory, X509Certificate}
import javax.net.ssl.{SSLContext, TrustManagerFactory}

import scala.jdk.CollectionConverters._

/** How the consumer's HTTP client reaches the schema registry: basic-auth credentials
  * (`user:password`) and the TLS trust for an `https://` registry.
  *
  * From the registry keys of a [[ClientConfig]] (prefix removed): `basic.auth.user.info` (with
  * `basic.auth.credentials.source` USER_INFO, as Confluent's clients write it, or URL),
  * `ssl.truststore.location`, `ssl.truststore.type` (PEM, PKCS12 or JKS; PEM by default for a
  * `.pem`/`.crt` file) and `ssl.truststore.password`. Without a truststore the JVM's default
  * trust applies.
  */
final case class RegistryClientSettings(basicAuth: Option[String], sslContext: Option[SSLContext]) {
  override def toString: String = s"RegistryClientSettings(basicAuth=${basicAuth.map(_ => "<set>")}, tls=${sslContext.isDefined})"
}

/** Building of registry client settings. */
object RegistryClientSettings {

  /** Defaults: no credentials, the JVM's trust. */
  val Default: RegistryClientSettings = RegistryClientSettings(None, None)

  private val Known =
    Set("basic.auth.user.info", "basic.auth.credentials.source", "ssl.truststore.location", "ssl.truststore.type",
      "ssl.truststore.password")

  /** The settings in `registry` (keys without their `schema.registry.` prefix), or what is wrong with them. */
  def from(registry: Map[String, String]): Either[String, RegistryClientSettings] = {
    val unknown = registry.keySet -- Known
    if (unknown.nonEmpty)
      return Left(
        s"unknown schema registry client settings: ${unknown.toSeq.sorted.map(ClientConfig.RegistryPrefix + _).mkString(", ")} " +
          s"(known: ${Known.toSeq.sorted.map(ClientConfig.RegistryPrefix + _).mkString(", ")})")
    // Confluent's clients name where credentials come from; USER_INFO (the key above) and URL are what this client does.
    val source = registry.getOrElse("basic.auth.credentials.source", "USER_INFO").trim.toUpperCase
    if (source != "USER_INFO" && source != "URL")
      return Left(s"${ClientConfig.RegistryPrefix}basic.auth.credentials.source must be USER_INFO or URL, got $source")
    val auth = registry.get("basic.auth.user.info").filter(_.nonEmpty)
    if (auth.exists(a => a.indexOf(':') <= 0))
      return Left(s"${ClientConfig.RegistryPrefix}basic.auth.user.info must be user:password")
    registry.get("ssl.truststore.location").filter(_.nonEmpty) match {
      case None => Right(RegistryClientSettings(auth, None))
      case Some(location) =>
        val path = Paths.get(location)
        val kind = registry.getOrElse(
          "ssl.truststore.type",
          if (location.endsWith(".p12") || location.endsWith(".pfx")) "PKCS12"
          else if (location.endsWith(".jks")) "JKS" else "PEM").toUpperCase
        trustContext(path, kind, registry.get("ssl.truststore.password")).map(ctx => RegistryClientSettings(auth, Some(ctx)))
    }
  }

  private def trustContext(path: Path, kind: String, password: Option[String]): Either[String, SSLContext] =
    try {
      val store =
        if (kind == "PEM") {
          val certs =
            CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(Files.readAllBytes(path)))
          if (certs.isEmpty) return Left(s"${ClientConfig.RegistryPrefix}ssl.truststore.location $path holds no certificate")
          val ks = KeyStore.getInstance(KeyStore.getDefaultType)
          ks.load(null, null)
          certs.asScala.zipWithIndex.foreach { case (c, i) => ks.setCertificateEntry(s"ca-$i", c.asInstanceOf[X509Certificate]) }
          ks
        } else {
          val ks = KeyStore.getInstance(kind)
          val in = Files.newInputStream(path)
          try ks.load(in, password.map(_.toCharArray).orNull)
          finally in.close()
          ks
        }
      val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm)
      tmf.init(store)
      val ctx = SSLContext.getInstance("TLS")
      ctx.init(null, tmf.getTrustManagers, null)
      Right(ctx)
    } catch {
      case e @ (_: IOException | _: GeneralSecurityException) =>
        Left(s"${ClientConfig.RegistryPrefix}ssl.truststore.location $path ($kind) cannot be used: ${e.getClass.getSimpleName}: ${e.getMessage}")
    }
}
