package txpipe.consumer.service

import java.net.URI
import java.net.http.{HttpClient, HttpRequest, HttpResponse}
import java.time.Duration
import java.util.Properties

import org.apache.kafka.streams.{KafkaStreams, KeyQueryMetadata}
import org.apache.kafka.streams.state.HostInfo
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.security.TestCertificates
import txpipe.consumer.{Counters, TempDirs}

/** The HTTP service on 127.0.0.1 over HTTPS, with routing and health fed by stubs and a committed
  * view that has read nothing yet (its reader is never started: no broker is needed). */
class HttpServiceSpec extends AnyFunSuite {

  private val other = new HostInfo("127.0.0.1", 1) // nothing listens on port 1

  private def withService(owner: HostInfo => HostInfo, ready: Boolean)(body: (String, HttpClient) => Unit): Unit =
    TempDirs.withTempDir("http-service") { dir =>
      val certs = new TestCertificates(dir)
      val tls = HttpTls
        .from(Map(
          "ssl.keystore.location" -> certs.keyStore.toString,
          "ssl.keystore.password" -> certs.password,
          "ssl.truststore.location" -> certs.certPem.toString))
        .fold(e => fail(e), identity)
      val props = new Properties()
      props.put("bootstrap.servers", "127.0.0.1:1")
      val view = new CommittedTotals(props, "t-totals")
      val self = new HostInfo("127.0.0.1", 0)
      val verdict = (ok: Boolean) => Readiness.Verdict(ok, "RUNNING", if (ok) Nil else Seq("the schema registry did not answer"))
      val service = new HttpService(
        "127.0.0.1",
        0,
        tls,
        self,
        view,
        new TotalsEvents(view, () => 0L),
        new ServiceMetrics(new Counters, () => java.util.Map.of(), () => Some(view), withJvm = false),
        () => KafkaStreams.State.RUNNING,
        _ => new KeyQueryMetadata(owner(self), java.util.Set.of(), 0),
        () => verdict(true),
        () => verdict(ready)
      ).start()
      val client = HttpClient.newBuilder().sslContext(tls.client.get).connectTimeout(Duration.ofSeconds(5)).build()
      try body(s"https://127.0.0.1:${service.boundPort}", client)
      finally {
        service.close()
        view.close()
      }
    }

  private def get(client: HttpClient, url: String, headers: (String, String)*): HttpResponse[String] = {
    val b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
    headers.foreach { case (k, v) => b.header(k, v) }
    client.send(b.GET().build(), HttpResponse.BodyHandlers.ofString())
  }

  test("over HTTPS: health, metrics and the page; a bad account name is 400; only GET is served") {
    withService(self => self, ready = false) { (base, client) =>
      assert(get(client, s"$base/health/live").statusCode == 200)
      val notReady = get(client, s"$base/health/ready")
      assert(notReady.statusCode == 503 && notReady.body.contains("the schema registry did not answer"))
      val metrics = get(client, s"$base/metrics")
      assert(metrics.statusCode == 200 && metrics.body.contains("txpipe_records_counted_total 0.0"))
      assert(metrics.headers.firstValue("Content-Type").get.startsWith("text/plain"))
      val page = get(client, s"$base/")
      assert(page.statusCode == 200 && page.body.contains("EventSource(\"/events\")"))
      assert(get(client, s"$base/nothing-here").statusCode == 404)
      val bad = get(client, s"$base/accounts/a%0Ab")
      assert(bad.statusCode == 400 && bad.body.contains("control character"))
      assert(get(client, s"$base/accounts?limit=5000").statusCode == 400)
      val post = client.send(
        HttpRequest.newBuilder(URI.create(s"$base/accounts/A")).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString())
      assert(post.statusCode == 405)
    }
  }

  test("plain HTTP to the HTTPS service gets no answer") {
    withService(self => self, ready = true) { (base, _) =>
      val plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
      val request = HttpRequest.newBuilder(URI.create(base.replace("https:", "http:") + "/health/live"))
        .timeout(Duration.ofSeconds(5)).GET().build()
      assert(scala.util.Try(plain.send(request, HttpResponse.BodyHandlers.ofString())).toOption.forall(_.statusCode != 200))
    }
  }

  test("an account this instance owns, on a view still reading, is 503 with Retry-After and the reason") {
    withService(self => self, ready = true) { (base, client) =>
      val r = get(client, s"$base/accounts/ACC-0007")
      assert(r.statusCode == 503 && r.headers.firstValue("Retry-After").get == "1")
      assert(r.body.contains("\"reason\"") && r.body.contains("t-totals"))
      assert(get(client, s"$base/accounts").statusCode == 503)
    }
  }

  test("an account another instance owns is forwarded; an owner that does not answer is 503; never a second hop") {
    withService(_ => other, ready = true) { (base, client) =>
      val unreachable = get(client, s"$base/accounts/ACC-0007")
      assert(unreachable.statusCode == 503 && unreachable.body.contains("127.0.0.1:1 did not answer"))
      val secondHop = get(client, s"$base/accounts/ACC-0007", HttpService.HopHeader -> "127.0.0.1:9")
      assert(secondHop.statusCode == 503 && secondHop.body.contains("moving"))
    }
  }

  test("HTTP TLS settings: unknown keys and unusable stores are refused without showing a value") {
    assert(HttpTls.from(Map.empty) == Right(HttpTls.Off))
    assert(HttpTls.from(Map("ssl.keystore.pasword" -> "x")).left.exists(_.contains("http.ssl.keystore.pasword")))
    TempDirs.withTempDir("http-tls") { dir =>
      val certs = new TestCertificates(dir)
      val wrong = HttpTls.from(Map("ssl.keystore.location" -> certs.keyStore.toString, "ssl.keystore.password" -> "n0t-it"))
      assert(wrong.left.exists(m => m.contains("http.ssl.keystore.location") && !m.contains("n0t-it")))
    }
  }
}
