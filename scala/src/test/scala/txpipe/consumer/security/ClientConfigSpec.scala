package txpipe.consumer.security

import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.Files

import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.admin.AdminClientConfig
import org.apache.kafka.clients.consumer.ConsumerConfig
import org.apache.kafka.clients.producer.ProducerConfig
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.{Main, Options, ProjectPaths, TempDirs}

class ClientConfigSpec extends AnyFunSuite {

  private val Secret = "pa55-w0rd-never-logged"

  private def withFile(text: String)(body: java.nio.file.Path => Unit): Unit =
    TempDirs.withTempDir("client-config") { dir =>
      val f = dir.resolve("client.properties")
      Files.write(f, text.getBytes(UTF_8))
      body(f)
    }

  test("a file's Kafka keys go to every Kafka client, schema.registry.* keys to the registry client; -X wins") {
    withFile(
      s"""security.protocol=SASL_SSL
         |sasl.mechanism=SCRAM-SHA-512
         |sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="c" password="$Secret";
         |schema.registry.basic.auth.user.info=c:$Secret
         |""".stripMargin) { f =>
      val file = ClientConfig.load(f).toOption.get
      assert(file.securityProtocol == "SASL_SSL")
      assert(file.registry == Map("basic.auth.user.info" -> s"c:$Secret"))
      val merged =
        file.withOverrides(Seq("sasl.mechanism" -> "SCRAM-SHA-256", "schema.registry.ssl.truststore.location" -> "/ca.pem"))
      assert(merged.kafkaMap("sasl.mechanism") == "SCRAM-SHA-256")
      assert(merged.registry("ssl.truststore.location") == "/ca.pem")
      assert(!merged.kafka.exists(_._1.startsWith("schema.registry.")))
      // Logs see keys, never values.
      assert(!merged.describe.contains(Secret) && merged.describe.contains("sasl.jaas.config"))
    }
  }

  test("the consumer's Streams and admin settings carry the file's security keys; the env names the file") {
    withFile("security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=/etc/ca.pem\n") { f =>
      val opts =
        Options.parse(Seq("-b", "k:9093", "-s", "http://r", "-t", "tx", "-g", "g"), Map(Options.ClientConfigEnv -> f.toString))
          .toOption.get
      assert(opts.clientConfig.contains(f.toString))
      val clients = Main.clientConfig(opts).toOption.get
      val effective = opts.copy(config = clients.kafka)
      assert(Main.streamsConfig(effective, 6).getProperty("security.protocol") == "SSL")
      val admin = Main.adminProps(effective, "setup")
      assert(admin.getProperty("security.protocol") == "SSL" && admin.getProperty("ssl.truststore.location") == "/etc/ca.pem")
      // The flag wins over the environment.
      val flagged = Options.parse(
        Seq("-b", "k", "-s", "r", "-t", "t", "-g", "g", "--client-config", "/x"),
        Map(Options.ClientConfigEnv -> "/y"))
      assert(flagged.toOption.get.clientConfig.contains("/x"))
    }
  }

  test("a missing or unreadable file is an error naming the file") {
    val missing = ClientConfig.load(java.nio.file.Paths.get("/nonexistent/client.properties"))
    assert(missing.left.toOption.exists(_.contains("/nonexistent/client.properties")))
  }

  test("the consumer's example client configs in docs/client-config load, with only Java client and known registry keys") {
    val dir = ProjectPaths.repoRoot.resolve("docs").resolve("client-config")
    val examples = Files.list(dir).iterator().asScala.filter(_.getFileName.toString.endsWith("-consumer.properties")).toVector
    assert(examples.size >= 3, s"consumer examples in $dir")
    val javaKeys = ProducerConfig.configNames().asScala ++ ConsumerConfig.configNames().asScala ++
      AdminClientConfig.configNames().asScala
    for (path <- examples) {
      val config = ClientConfig.load(path).fold(e => fail(e), identity)
      assert(Set("SASL_SSL", "SSL")(config.securityProtocol), path)
      val unknown = config.kafkaMap.keySet -- javaKeys
      assert(unknown.isEmpty, s"$path: not Java client keys: $unknown")
      // The trust store files are the reader's own; the rest must be what the registry client takes.
      val trust = config.registry.keySet.filter(_.startsWith("ssl.truststore."))
      assert(RegistryClientSettings.from(config.registry -- trust).isRight, path)
      assert(config.registry.get("basic.auth.user.info").exists(_.contains(":")), path)
    }
  }
}
