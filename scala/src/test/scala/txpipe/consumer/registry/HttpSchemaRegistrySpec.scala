package txpipe.consumer.registry

import java.net.InetSocketAddress
import java.nio.charset.StandardCharsets.UTF_8
import java.time.Duration
import java.util.concurrent.atomic.{AtomicInteger, AtomicLong}

import com.sun.net.httpserver.{HttpExchange, HttpServer}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/** Runs against a throwaway HTTP server on 127.0.0.1 only. */
class HttpSchemaRegistrySpec extends AnyFunSuite with BeforeAndAfterAll {

  private val server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0)
  private val hits = new AtomicInteger()
  private val flakyHits = new AtomicInteger()
  private val lateHits = new AtomicInteger()
  private val Credentials = "Basic " + java.util.Base64.getEncoder.encodeToString("app:s3cr3t!".getBytes(UTF_8))

  private def reply(ex: HttpExchange, status: Int, body: String): Unit = {
    val bytes = body.getBytes(UTF_8)
    ex.getResponseHeaders.add("Content-Type", "application/vnd.schemaregistry.v1+json")
    ex.sendResponseHeaders(status, bytes.length.toLong)
    ex.getResponseBody.write(bytes)
    ex.close()
  }

  override def beforeAll(): Unit = {
    server.createContext("/apis/ccompat/v7/schemas/types", (ex: HttpExchange) => reply(ex, 200, """["JSON","PROTOBUF","AVRO"]"""))
    server.createContext(
      "/apis/ccompat/v7/schemas/ids/",
      (ex: HttpExchange) => {
        hits.incrementAndGet()
        ex.getRequestURI.getPath.stripPrefix("/apis/ccompat/v7/schemas/ids/") match {
          case "1" => reply(ex, 200, """{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\npackage a;\nmessage B {}"}""")
          case "2" =>
            // Fails twice with a 503 before answering, like a registry that is still starting.
            if (flakyHits.incrementAndGet() <= 2) reply(ex, 503, """{"error_code":50301,"message":"starting"}""")
            else reply(ex, 200, """{"schema":"QUJD"}""")
          case "5" =>
            // Not there for the first two asks: a schema registered a moment ago, on a replica behind.
            if (lateHits.incrementAndGet() <= 2) reply(ex, 404, """{"error_code":40403,"message":"Schema not found"}""")
            else reply(ex, 200, """{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\"; message C {}"}""")
          case "7" => reply(ex, 503, """{"error_code":50301,"message":"down"}""")
          case _ => reply(ex, 404, """{"error_code":40403,"message":"Schema not found"}""")
        }
      }
    )
    server.createContext(
      "/secure/",
      (ex: HttpExchange) =>
        if (ex.getRequestHeaders.getFirst("Authorization") == Credentials)
          reply(
            ex,
            200,
            if (ex.getRequestURI.getPath.endsWith("/types")) """["PROTOBUF"]"""
            else """{"schemaType":"PROTOBUF","schema":"message D {}"}""")
        else reply(ex, 401, """{"error_code":401,"message":"Unauthorized"}""")
    )
    // A registry that knows the credentials but denies this user (HTTP 403).
    server.createContext("/forbidden/", (ex: HttpExchange) => reply(ex, 403, """{"error_code":403,"message":"Forbidden"}"""))
    // The registry's root, as the brief's URL without /apis/ccompat/v7 reaches it.
    server.createContext("/schemas/", (ex: HttpExchange) => reply(ex, 404, "<html>Not Found</html>"))
    server.start()
  }

  override def afterAll(): Unit = server.stop(0)

  private def root = s"http://127.0.0.1:${server.getAddress.getPort}"
  private def url = s"$root/apis/ccompat/v7/"
  private def soon = System.nanoTime() + Duration.ofSeconds(5).toNanos

  test("a found schema keeps type and text; the base URL's path is kept") {
    val registry = new HttpSchemaRegistry(url)
    assert(registry.schemaById(1) == Some(RegisteredSchema("PROTOBUF", "syntax = \"proto3\";\npackage a;\nmessage B {}")))
  }

  test("a found schema is asked once") {
    val registry = new HttpSchemaRegistry(url)
    val before = hits.get
    assert(registry.schemaById(1).isDefined && registry.schemaById(1).isDefined)
    assert(hits.get - before == 1)
  }

  test("records naming ever new schema ids never hold more than the cap of ids") {
    // A small cap: each lookup is a request to the test server.
    val cap = 20
    val registry = new HttpSchemaRegistry(url, missingWait = Duration.ZERO, maxCachedIds = cap)
    var most = 0
    // Unknown ids (the server's 404), past the cap.
    for (id <- 1000 until 1000 + cap + 5) {
      assert(registry.schemaById(id).isEmpty)
      most = math.max(most, registry.cachedIds)
    }
    assert(most == cap, most)
    assert(registry.cachedIds < cap)
  }

  test("a 404 is asked again for the missing wait, then believed only for the missing TTL") {
    val now = new AtomicLong(0L)
    // Each ask moves the clock on by 100 ms, so the wait ends after a bounded number of asks.
    val registry = new HttpSchemaRegistry(
      url,
      initialBackoff = Duration.ofMillis(1),
      missingWait = Duration.ofMillis(450),
      missingTtl = Duration.ofSeconds(30),
      clock = () => now.addAndGet(Duration.ofMillis(100).toNanos)
    )
    val before = hits.get
    assert(registry.schemaById(77).isEmpty)
    val asked = hits.get - before
    assert(asked >= 2 && asked <= 6, s"asked $asked times")
    // Within the TTL: no request at all.
    assert(registry.schemaById(77).isEmpty)
    assert(hits.get - before == asked)
    // Past it: asked again (once: a single futile wait per TTL, not one per hostile id).
    now.addAndGet(Duration.ofSeconds(31).toNanos)
    assert(registry.schemaById(77).isEmpty)
    assert(hits.get - before > asked)
  }

  test("a schema that appears during the missing wait is found, not dead-lettered") {
    val registry = new HttpSchemaRegistry(url, initialBackoff = Duration.ofMillis(10), missingWait = Duration.ofSeconds(5))
    assert(registry.schemaById(5).map(_.schema) == Some("syntax = \"proto3\"; message C {}"))
    assert(lateHits.get == 3)
  }

  test("after one futile wait, other unknown ids are asked once, not waited for") {
    val registry = new HttpSchemaRegistry(url, initialBackoff = Duration.ofMillis(10), missingWait = Duration.ofMillis(300))
    val t0 = System.nanoTime()
    assert(registry.schemaById(1001).isEmpty)
    val first = System.nanoTime() - t0
    val before = hits.get
    for (id <- 1002 to 1011) assert(registry.schemaById(id).isEmpty)
    assert(hits.get - before == 10)
    assert(first >= Duration.ofMillis(300).toNanos)
  }

  test("5xx is retried with backoff until the registry answers") {
    val registry = new HttpSchemaRegistry(url, initialBackoff = Duration.ofMillis(20))
    assert(registry.schemaById(2) == Some(RegisteredSchema("", "QUJD")))
    assert(flakyHits.get == 3)
  }

  test("an unreachable registry is retried, and close() ends the wait without blaming the record") {
    val closedPort = {
      val s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1")); val p = s.getLocalPort; s.close(); p
    }
    val registry = new HttpSchemaRegistry(s"http://127.0.0.1:$closedPort", initialBackoff = Duration.ofMillis(20))
    val result = new java.util.concurrent.CompletableFuture[Throwable]()
    val t = new Thread(() =>
      try { registry.schemaById(1); result.complete(null) }
      catch { case e: Throwable => result.complete(e) })
    t.start()
    Thread.sleep(300)
    assert(!result.isDone, "must keep retrying, never give up on its own")
    registry.close()
    assert(result.get(5, java.util.concurrent.TimeUnit.SECONDS).isInstanceOf[RegistryLookupAbandoned])
  }

  test("once told to stop waiting, a lookup still asks once: a known schema is found, an outage ends at once") {
    val registry = new HttpSchemaRegistry(url, initialBackoff = Duration.ofSeconds(10))
    registry.stopWaiting()
    // Streams' close can still process records naming a schema this instance has not seen yet.
    assert(registry.schemaById(1).map(_.schemaType) == Some("PROTOBUF"))
    val before = hits.get
    val started = System.nanoTime()
    val down = new HttpSchemaRegistry(url, initialBackoff = Duration.ofSeconds(10))
    down.stopWaiting()
    val outcome = intercept[RegistryLookupAbandoned](down.schemaById(7))
    assert(hits.get == before + 1, "asked exactly once")
    assert(System.nanoTime() - started < Duration.ofSeconds(5).toNanos, "did not wait out the 10 s backoff")
    assert(outcome.getMessage.contains("HTTP 503"))
  }

  test("credentials in the URL are sent as basic auth and never shown; a refusal is a typed failure naming the registry") {
    val good = new HttpSchemaRegistry(s"http://app:s3cr3t%21@127.0.0.1:${server.getAddress.getPort}/secure")
    assert(good.shownUrl == s"$root/secure")
    assert(good.probe(soon) == Right(()))
    assert(good.schemaById(3).map(_.schema) == Some("message D {}"))
    val bad = new HttpSchemaRegistry(s"http://app:wrong-pass@127.0.0.1:${server.getAddress.getPort}/secure")
    val e = intercept[RegistryAuthenticationFailed](bad.schemaById(3))
    assert(e.getMessage ==
      s"schema registry at $root/secure refused the consumer (HTTP 401): check the credentials given with the registry URL")
    assert(bad.probe(soon) == Left(e.getMessage))
    val none = new HttpSchemaRegistry(s"$root/secure")
    assert(none.probe(soon).left.exists(_.endsWith("it needs credentials, and none were given")))
  }

  test("a 403 stops the lookup and the probe alike, as a refusal naming the registry and never the password") {
    val denied = new HttpSchemaRegistry(s"http://app:s3cr3t%21@127.0.0.1:${server.getAddress.getPort}/forbidden")
    val e = intercept[RegistryAuthenticationFailed](denied.schemaById(1))
    assert(e.getMessage ==
      s"schema registry at $root/forbidden refused the consumer (HTTP 403): check the credentials given with the registry URL")
    assert(!e.getMessage.contains("s3cr3t"))
    assert(denied.probe(soon) == Left(e.getMessage))
  }

  test("the start-up probe accepts the Confluent API and names the fix for the registry's bare root") {
    assert(new HttpSchemaRegistry(url).probe(soon) == Right(()))
    val why = new HttpSchemaRegistry(root).probe(soon).swap.getOrElse(fail("accepted the bare root"))
    assert(why.contains("does not answer the Confluent API") && why.contains("HTTP 404") && why.contains("/apis/ccompat/v7"), why)
  }
}
