package txpipe.consumer.security

import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.TempDirs

class RegistryClientSettingsSpec extends AnyFunSuite {

  test("credentials and a PEM truststore make the registry client's settings; values never show") {
    TempDirs.withTempDir("registry-tls") { dir =>
      val certs = new TestCertificates(dir)
      val s = RegistryClientSettings.from(Map(
        "basic.auth.user.info" -> "u:secret-pw",
        "ssl.truststore.location" -> certs.certPem.toString))
      assert(s.toOption.get.basicAuth.contains("u:secret-pw"))
      assert(s.toOption.get.sslContext.isDefined)
      assert(!s.toOption.get.toString.contains("secret-pw"))
      val p12 = RegistryClientSettings.from(Map(
        "ssl.truststore.location" -> certs.keyStore.toString,
        "ssl.truststore.password" -> certs.password))
      assert(p12.toOption.get.sslContext.isDefined)
    }
  }

  test("unknown keys, bad credentials and unusable truststores are refused with the key named") {
    assert(
      RegistryClientSettings.from(Map("basic.auth.user" -> "x")).left.toOption.exists(_.contains("schema.registry.basic.auth.user")))
    assert(RegistryClientSettings.from(Map("basic.auth.user.info" -> "nocolon")).left.toOption.exists(_.contains("user:password")))
    assert(RegistryClientSettings.from(Map(
      "basic.auth.user.info" -> "u:p",
      "basic.auth.credentials.source" -> "USER_INFO")).isRight)
    assert(RegistryClientSettings.from(
      Map("basic.auth.credentials.source" -> "SASL_INHERIT")).left.toOption.exists(_.contains("USER_INFO or URL")))
    val bad = RegistryClientSettings.from(Map("ssl.truststore.location" -> "/nonexistent.pem"))
    assert(bad.left.toOption.exists(m => m.contains("/nonexistent.pem") && m.contains("ssl.truststore.location")))
  }
}
