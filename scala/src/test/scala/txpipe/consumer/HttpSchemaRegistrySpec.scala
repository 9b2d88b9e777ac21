package txpipe.consumer

import java.net.InetSocketAddress
import java.nio.charset.StandardCharsets.UTF_8
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger

import com.sun.net.httpserver.{HttpExchange, HttpServer}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/** Runs against a throwaway HTTP server on 127.0.0.1 only. */
class HttpSchemaRegistrySpec extends AnyFunSuite with BeforeAndAfterAll {

  private val server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0)
  private val hits = new AtomicInteger()
  private val flakyHits = new AtomicInteger()

  private def reply(ex: HttpExchange, status: Int, body: String): Unit = {
    val bytes = body.getBytes(UTF_8)
    ex.getResponseHeaders.add("Content-Type", "application/vnd.schemaregistry.v1+json")
    ex.sendResponseHeaders(status, bytes.length.toLong)
    ex.getResponseBody.write(bytes)
    ex.close()
  }

  override def beforeAll(): Unit = {
    server.createContext("/apis/ccompat/v7/schemas/ids/", (ex: HttpExchange) => {
      hits.incrementAndGet()
      ex.getRequestURI.getPath.stripPrefix("/apis/ccompat/v7/schemas/ids/") match {
        case "1" => reply(ex, 200, """{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\npackage a;\nmessage B {}"}""")
        case "2" =>
          // Fails twice with a 503 before answering, like a registry that is still starting.
          if (flakyHits.incrementAndGet() <= 2) reply(ex, 503, """{"error_code":50301,"message":"starting"}""")
          else reply(ex, 200, """{"schema":"QUJD"}""")
        case _ => reply(ex, 404, """{"error_code":40403,"message":"Schema not found"}""")
      }
    })
    server.start()
  }

  override def afterAll(): Unit = server.stop(0)

  private def url = s"http://127.0.0.1:${server.getAddress.getPort}/apis/ccompat/v7/"

  test("a found schema keeps type and text; the base URL's path is kept") {
    val registry = new HttpSchemaRegistry(url)
    assert(registry.schemaById(1) == Some(RegisteredSchema("PROTOBUF", "syntax = \"proto3\";\npackage a;\nmessage B {}")))
  }

  test("404 means unknown, and both answers are cached") {
    val registry = new HttpSchemaRegistry(url)
    val before = hits.get
    assert(registry.schemaById(77).isEmpty)
    assert(registry.schemaById(77).isEmpty)
    assert(registry.schemaById(1).isDefined)
    assert(registry.schemaById(1).isDefined)
    assert(hits.get - before == 2)
  }

  test("5xx is retried with backoff until the registry answers") {
    val registry = new HttpSchemaRegistry(url, initialBackoff = Duration.ofMillis(20))
    assert(registry.schemaById(2) == Some(RegisteredSchema("", "QUJD")))
    assert(flakyHits.get == 3)
  }

  test("an unreachable registry is retried, and close() ends the wait") {
    val closedPort = { val s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1")); val p = s.getLocalPort; s.close(); p }
    val registry = new HttpSchemaRegistry(s"http://127.0.0.1:$closedPort", initialBackoff = Duration.ofMillis(20))
    val result = new java.util.concurrent.CompletableFuture[Throwable]()
    val t = new Thread(() => try { registry.schemaById(1); result.complete(null) } catch { case e: Throwable => result.complete(e) })
    t.start()
    Thread.sleep(300)
    assert(!result.isDone, "must keep retrying, never give up on its own")
    registry.close()
    assert(result.get(5, java.util.concurrent.TimeUnit.SECONDS).isInstanceOf[IllegalStateException])
  }
}
