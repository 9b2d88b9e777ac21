package txpipe.consumer

import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.{Files, Path}

import scala.jdk.CollectionConverters._

import org.scalatest.funsuite.AnyFunSuite

/** The consumer uses its libraries through their public APIs only: internals, reflection and
  * proxies can change under it in any release without a compile error. */
class PublicApiSpec extends AnyFunSuite {

  private val mainSources: Seq[Path] = {
    val root = ProjectPaths.repoRoot.resolve("scala/src/main")
    val walk = Files.walk(root)
    try walk.iterator().asScala.filter(p =>
        Files.isRegularFile(p) && (p.toString.endsWith(".scala") || p.toString.endsWith(".java"))).toVector
    finally walk.close()
  }

  // Kafka's RecordHeaders is the usual way to build headers and the one accepted exception.
  private val allowed = Set("org.apache.kafka.common.header.internals.RecordHeaders")

  // The package name anywhere but the allowed import (not the English word "internal"), so renames
  // (`state.{internals => i}`) and wildcard imports followed by `internals.X` are caught too.
  private val forbidden = Seq(
    "an internals package" ->
      """\b(?:org|com|io|java|scala)\.[A-Za-z0-9_.]*\.internals?\.[A-Za-z0-9_.{}, ]+|\binternals\b|\binternal\.[A-Za-z{]""".r,
    "reflection" ->
      ("""\bjava\.lang\.reflect\b|\bgetDeclared(?:Field|Method|Constructor)s?\b|\bsetAccessible\b|""" +
        """\bget(?:Method|Field|Constructor)s?\(|\.invoke\(|\bMethodHandles?\b|\bVarHandle\b|\bscala\.reflect\.runtime\b|""" +
        """\bClass\.forName\b""").r,
    "a dynamic proxy" -> """\bProxy\.newProxyInstance\b|\bInvocationHandler\b""".r
  )

  private def violations(text: String): Seq[String] =
    forbidden.flatMap { case (what, pattern) =>
      pattern.findAllIn(text).map(_.trim).filterNot(m => allowed.exists(a => m == a || m.startsWith(a))).map(m => s"$what: $m")
    }

  test("the rule catches what it is meant to catch") {
    assert(violations("import org.apache.kafka.streams.state.internals.RocksDBStore").nonEmpty)
    assert(violations("import org.apache.kafka.streams.processor.internals.{InternalProcessorContext, ProcessorContextUtils}").nonEmpty)
    assert(violations("val f = classOf[X].getDeclaredField(\"db\"); f.setAccessible(true)").size == 2)
    assert(violations("java.lang.reflect.Proxy.newProxyInstance(l, is, h)").nonEmpty)
    assert(violations("import org.apache.kafka.streams.state.{internals => i}").nonEmpty)
    assert(violations("import org.apache.kafka.streams.state._; val s: internals.RocksDBStore = null").nonEmpty)
    assert(violations("classOf[X].getMethod(\"open\").invoke(x)").size == 2)
    assert(violations("MethodHandles.privateLookupIn(c, l)").nonEmpty)
    assert(violations("import scala.reflect.runtime.universe._").nonEmpty)
    assert(violations("Class.forName(\"org.rocksdb.RocksDB\")").nonEmpty)
    assert(violations("import org.apache.kafka.common.header.internals.RecordHeaders").isEmpty)
    assert(violations("message.getFieldList.asScala").isEmpty)
    assert(violations("import org.apache.kafka.streams.state.Stores").isEmpty)
  }

  test("main code uses no library internals, reflection or proxies") {
    assert(mainSources.nonEmpty)
    val found = for {
      file <- mainSources
      (line, n) <- new String(Files.readAllBytes(file), UTF_8).linesIterator.zipWithIndex
      v <- violations(line)
    } yield s"${ProjectPaths.repoRoot.relativize(file)}:${n + 1}: $v"
    assert(found.isEmpty, found.mkString("\n", "\n", ""))
  }
}
