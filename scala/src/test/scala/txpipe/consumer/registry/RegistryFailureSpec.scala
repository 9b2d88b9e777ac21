package txpipe.consumer.registry

import java.net.InetSocketAddress
import java.nio.charset.StandardCharsets.UTF_8
import java.util.Properties

import scala.collection.mutable

import com.sun.net.httpserver.{HttpExchange, HttpServer}
import org.apache.kafka.common.serialization.{ByteArrayDeserializer, ByteArraySerializer}
import org.apache.kafka.streams.{StreamsConfig, TopologyTestDriver}
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.{TempDirs, TestFrames, TransactionTopology}

/** The registry's failures are the consumer's, never the record's: nothing reaches the DLQ. */
class RegistryFailureSpec extends AnyFunSuite {

  private def withRefusingRegistry(body: String => Unit): Unit = {
    val server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0)
    server.createContext(
      "/",
      (ex: HttpExchange) => {
        val bytes = """{"error_code":401,"message":"Unauthorized"}""".getBytes(UTF_8)
        ex.sendResponseHeaders(401, bytes.length.toLong)
        ex.getResponseBody.write(bytes)
        ex.close()
      }
    )
    server.start()
    try body(s"http://reader:hunter2@127.0.0.1:${server.getAddress.getPort}/apis/ccompat/v7")
    finally server.stop(0)
  }

  test("a 401 stops processing with a typed failure naming the registry, without credentials, and dead-letters nothing") {
    withRefusingRegistry { url =>
      val registry = new HttpSchemaRegistry(url)
      val lines = mutable.ArrayBuffer.empty[String]
      val props = new Properties()
      props.put(StreamsConfig.APPLICATION_ID_CONFIG, "txpipe-auth-test")
      props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9")
      TempDirs.withTempDir("txpipe-auth") { dir =>
        props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString)
        val driver =
          new TopologyTestDriver(
            TransactionTopology.createTopology("tx", "txpipe-auth-test", registry, 1, line => lines += new String(line, UTF_8)),
            props)
        try {
          val input = driver.createInputTopic("tx", new ByteArraySerializer, new ByteArraySerializer)
          val dlq =
            driver.createOutputTopic(TransactionTopology.dlqTopic("tx"), new ByteArrayDeserializer, new ByteArrayDeserializer)
          val e = intercept[Exception](input.pipeInput(null, TestFrames.frame(1, TestFrames.transaction("ACC-1", 1.0).toByteArray)))
          val cause = Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).collectFirst {
            case r: RegistryAuthenticationFailed => r
          }
          assert(cause.isDefined, e)
          assert(cause.get.getMessage.contains("refused the consumer (HTTP 401)"))
          assert(!cause.get.getMessage.contains("hunter2") && !cause.get.getMessage.contains("reader"))
          assert(dlq.isEmpty && lines.isEmpty)
        } finally driver.close()
      }
    }
  }
}
