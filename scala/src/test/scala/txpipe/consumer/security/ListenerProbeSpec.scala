package txpipe.consumer.security

import java.net.{InetAddress, ServerSocket}
import javax.net.ssl.{SSLServerSocket, SSLSocket}

import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.TempDirs

class ListenerProbeSpec extends AnyFunSuite {

  // Accepts one connection at a time in the background and finishes the TLS handshake if it is one.
  private def serving[A](server: ServerSocket)(body: Int => A): A = {
    val t = new Thread(() =>
      try
        while (!server.isClosed) {
          val s = server.accept()
          try s match {
              case tls: SSLSocket => tls.startHandshake()
              case plain => plain.getInputStream.read()
            }
          catch { case _: java.io.IOException => () }
          finally s.close()
        }
      catch { case _: java.io.IOException => () })
    t.setDaemon(true)
    t.start()
    try body(server.getLocalPort)
    finally { server.close(); t.join(5000) }
  }

  test("a plaintext consumer pointed at a TLS listener is told so at once") {
    TempDirs.withTempDir("probe") { dir =>
      val certs = new TestCertificates(dir)
      val server = certs.serverContext.getServerSocketFactory.createServerSocket(
        0,
        5,
        InetAddress.getLoopbackAddress).asInstanceOf[SSLServerSocket]
      serving(server) { port =>
        val r = ListenerProbe.check(s"127.0.0.1:$port", "PLAINTEXT")
        assert(r.left.toOption.exists(m =>
          m.contains(s"127.0.0.1:$port speaks TLS") && m.contains("security.protocol is PLAINTEXT")))
        assert(ListenerProbe.check(s"127.0.0.1:$port", "SASL_SSL") == Right(()))
      }
    }
  }

  test("a plaintext listener, or none yet, is not a reason to stop") {
    serving(new ServerSocket(0, 5, InetAddress.getLoopbackAddress)) { port =>
      assert(ListenerProbe.check(s"127.0.0.1:$port", "PLAINTEXT", timeoutMs = 1000) == Right(()))
    }
    val free = {
      val s = new ServerSocket(0);
      try s.getLocalPort
      finally s.close()
    }
    assert(ListenerProbe.check(s"127.0.0.1:$free", "SASL_PLAINTEXT") == Right(()))
  }
}
