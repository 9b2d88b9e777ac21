package txpipe.consumer.security

import java.io.FileInputStream
import java.nio.file.{Files, Path, Paths}
import java.security.KeyStore
import javax.net.ssl.{KeyManagerFactory, SSLContext}

/** A self-signed certificate for 127.0.0.1, made with the JDK's keytool: a PKCS12 key store for
  * a test server and the certificate as PEM for the client's trust. */
final class TestCertificates(dir: Path) {

  val password = "test-only-store-pass"
  val keyStore: Path = dir.resolve("server.p12")
  val certPem: Path = dir.resolve("server.pem")

  private def keytool(args: String*): Unit = {
    val bin = Paths.get(System.getProperty("java.home"), "bin", "keytool").toString
    val p = new ProcessBuilder((bin +: args): _*).redirectErrorStream(true).start()
    val out = new String(p.getInputStream.readAllBytes())
    if (p.waitFor() != 0) throw new IllegalStateException(s"keytool ${args.headOption.getOrElse("")} failed: $out")
  }

  keytool(
    "-genkeypair",
    "-alias",
    "server",
    "-keyalg",
    "EC",
    "-groupname",
    "secp256r1",
    "-dname",
    "CN=127.0.0.1",
    "-ext",
    "SAN=IP:127.0.0.1,DNS:localhost",
    "-validity",
    "2",
    "-storetype",
    "PKCS12",
    "-keystore",
    keyStore.toString,
    "-storepass",
    password,
    "-keypass",
    password
  )
  keytool(
    "-exportcert",
    "-rfc",
    "-alias",
    "server",
    "-keystore",
    keyStore.toString,
    "-storepass",
    password,
    "-file",
    certPem.toString)

  /** A server-side TLS context presenting the certificate. */
  def serverContext: SSLContext = {
    val ks = KeyStore.getInstance("PKCS12")
    val in = new FileInputStream(keyStore.toFile)
    try ks.load(in, password.toCharArray)
    finally in.close()
    val kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm)
    kmf.init(ks, password.toCharArray)
    val ctx = SSLContext.getInstance("TLS")
    ctx.init(kmf.getKeyManagers, null, null)
    ctx
  }

  require(Files.isRegularFile(certPem))
}
