package txpipe.consumer.registry

import java.net.InetSocketAddress
import java.nio.charset.StandardCharsets.UTF_8

import com.sun.net.httpserver.{HttpExchange, HttpsConfigurator, HttpsServer}
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.security.{RegistryClientSettings, TestCertificates}
import txpipe.consumer.TempDirs

/** The registry client over HTTPS with credentials from the client config, against a throwaway
  * HTTPS server on 127.0.0.1 with a self-signed certificate. */
class RegistryTlsSpec extends AnyFunSuite {

  private val Expected = "Basic " + java.util.Base64.getEncoder.encodeToString("consumer:tls-s3cret".getBytes(UTF_8))

  private def withServer(body: (TestCertificates, String) => Unit): Unit =
    TempDirs.withTempDir("registry-tls") { dir =>
      val certs = new TestCertificates(dir)
      val server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0)
      server.setHttpsConfigurator(new HttpsConfigurator(certs.serverContext))
      server.createContext(
        "/apis/ccompat/v7/",
        (ex: HttpExchange) => {
          val ok = Option(ex.getRequestHeaders.getFirst("Authorization")).contains(Expected)
          val (status, body) =
            if (!ok) (401, """{"error_code":401,"message":"Unauthorized"}""")
            else if (ex.getRequestURI.getPath.endsWith("/schemas/types")) (200, """["PROTOBUF"]""")
            else (200, """{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";"}""")
          val bytes = body.getBytes(UTF_8)
          ex.sendResponseHeaders(status, bytes.length.toLong)
          ex.getResponseBody.write(bytes)
          ex.close()
        }
      )
      server.start()
      try body(certs, s"https://127.0.0.1:${server.getAddress.getPort}/apis/ccompat/v7")
      finally server.stop(0)
    }

  private def deadline = System.nanoTime() + 5000000000L

  test("trusting the registry's CA and sending the client config's credentials, lookups work") {
    withServer { (certs, url) =>
      val settings = RegistryClientSettings
        .from(Map("basic.auth.user.info" -> "consumer:tls-s3cret", "ssl.truststore.location" -> certs.certPem.toString))
        .toOption
        .get
      val registry = new HttpSchemaRegistry(url, settings = settings)
      try {
        assert(registry.probe(deadline) == Right(()))
        assert(registry.schemaById(1).map(_.schemaType).contains("PROTOBUF"))
      } finally registry.close()
    }
  }

  test("an untrusted certificate stops the client with one line naming the truststore; wrong credentials with a 401") {
    withServer { (certs, url) =>
      val untrusted = new HttpSchemaRegistry(url, settings = RegistryClientSettings(Some("consumer:tls-s3cret"), None))
      val e = intercept[RegistryTrustFailed](untrusted.probe(deadline))
      assert(e.getMessage.contains("schema.registry.ssl.truststore.location") && !e.getMessage.contains("s3cret"))
      val trust = RegistryClientSettings.from(Map("ssl.truststore.location" -> certs.certPem.toString)).toOption.get.sslContext
      val wrong = new HttpSchemaRegistry(url, settings = RegistryClientSettings(Some("consumer:wrong"), trust))
      val refused = wrong.probe(deadline)
      assert(refused.left.toOption.exists(m => m.contains("HTTP 401") && !m.contains("wrong")))
    }
  }
}
