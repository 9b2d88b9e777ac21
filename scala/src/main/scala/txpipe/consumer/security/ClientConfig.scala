package txpipe.consumer.security

import java.io.{IOException, InputStreamReader}
import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.{Files, Path}
import java.util.Properties

import scala.jdk.CollectionConverters._

/** Settings every client of the process takes, read from a Java properties file (`--client-config`):
  * Kafka client keys (security.protocol, sasl.*, ssl.* ...) for Kafka Streams and the admin
  * clients, keys starting with `schema.registry.` for the registry's HTTP client, and keys starting
  * with `http.` for the consumer's own HTTP service.
  *
  * The file is where secrets belong (a password on the command line shows in `ps`); its values
  * are never logged, only its keys.
  */
final case class ClientConfig(
    kafka: Vector[(String, String)],
    registry: Map[String, String],
    http: Map[String, String] = Map.empty) {

  /** These settings with `overrides` (the command line's -X) applied last, split the same way. */
  def withOverrides(overrides: Seq[(String, String)]): ClientConfig = {
    val (reg, rest) = overrides.partition(_._1.startsWith(ClientConfig.RegistryPrefix))
    val (web, kaf) = rest.partition(_._1.startsWith(ClientConfig.HttpPrefix))
    ClientConfig(
      kafka ++ kaf,
      registry ++ reg.map { case (k, v) => k.stripPrefix(ClientConfig.RegistryPrefix) -> v },
      http ++ web.map { case (k, v) => k.stripPrefix(ClientConfig.HttpPrefix) -> v }
    )
  }

  /** The Kafka keys in effect, last one winning. */
  def kafkaMap: Map[String, String] = kafka.toMap

  /** The effective security.protocol (PLAINTEXT when unset). */
  def securityProtocol: String = kafkaMap.getOrElse("security.protocol", "PLAINTEXT").trim.toUpperCase

  /** What a log may say about these settings: the keys, never the values. */
  def describe: String =
    s"Kafka client keys [${kafka.map(_._1).distinct.mkString(", ")}], registry keys [${registry.keys.toSeq.sorted.mkString(", ")}]" +
      (if (http.isEmpty) "" else s", HTTP service keys [${http.keys.toSeq.sorted.mkString(", ")}]")
}

/** Reading of client config files. */
object ClientConfig {

  /** Keys with this prefix configure the schema registry's HTTP client; the rest, the Kafka clients. */
  val RegistryPrefix = "schema.registry."

  /** Keys with this prefix configure the consumer's own HTTP service (its TLS). */
  val HttpPrefix = "http."

  /** No file: every client on its defaults. */
  val Empty: ClientConfig = ClientConfig(Vector.empty, Map.empty)

  /** The settings in `path`, or why it cannot be read (naming the file, never a value). */
  def load(path: Path): Either[String, ClientConfig] =
    if (!Files.isRegularFile(path)) Left(s"client config $path: no such file")
    else
      try {
        val props = new Properties()
        val in = new InputStreamReader(Files.newInputStream(path), UTF_8)
        try props.load(in)
        finally in.close()
        val entries = props.stringPropertyNames().asScala.toVector.sorted.map(k => k.trim -> props.getProperty(k).trim)
        Right(Empty.withOverrides(entries))
      } catch {
        case e: IOException => Left(s"client config $path cannot be read: ${e.getClass.getSimpleName}: ${e.getMessage}")
        case e: IllegalArgumentException => Left(s"client config $path is not a properties file: ${e.getMessage}")
      }
}
