package txpipe.consumer

import java.time.Duration
import java.time.format.DateTimeParseException

import scopt.{OEffect, OParser}
import txpipe.consumer.registry.HttpSchemaRegistry

/** The command line of the consumer. */
final case class Options(
    bootstrapServers: String = "",
    schemaRegistry: String = "",
    topic: String = "",
    group: String = "",
    stateDir: Option[String] = None,
    processingGuarantee: String = Options.ExactlyOnceV2,
    commitIntervalMs: Long = Options.DefaultCommitIntervalMs,
    partitions: Int = 6,
    replicationFactor: Option[Short] = None,
    topicWaitSeconds: Int = 300,
    dedupeRetention: Duration = Options.DefaultDedupeRetention,
    schemaMissingWait: Duration = HttpSchemaRegistry.DefaultMissingWait,
    config: Vector[(String, String)] = Vector.empty,
    clientConfig: Option[String] = None,
    httpPort: Option[Int] = None,
    httpHost: Option[String] = None,
    httpAdvertisedHost: Option[String] = None
) {

  /** The HTTP service's port; 0 when it is off. */
  def servicePort: Int = httpPort.getOrElse(0)

  /** The address the HTTP service binds to. */
  def serviceBindHost: String = httpHost.getOrElse(Options.DefaultHttpHost)
}

/** Parsing of the command line. */
object Options {

  val ExactlyOnceV2 = "exactly_once_v2"

  /** The environment variable naming the client config file when --client-config is not given. */
  val ClientConfigEnv = "TXPIPE_CLIENT_CONFIG"
  val AtLeastOnce = "at_least_once"

  /** Environment variables for the HTTP service's flags, used when the flag is not given. */
  val HttpPortEnv = "TXPIPE_HTTP_PORT"
  val HttpHostEnv = "TXPIPE_HTTP_HOST"
  val HttpAdvertisedHostEnv = "TXPIPE_HTTP_ADVERTISED_HOST"

  /** The HTTP service binds to loopback unless told otherwise: it is open to whoever can reach it. */
  val DefaultHttpHost = "127.0.0.1"

  /** How often Streams commits: each exactly-once commit stalls processing, and once a second
    * (not Streams' 100 ms) leaves few records behind one; a crash replays up to a second of lines. */
  val DefaultCommitIntervalMs: Long = 1000L

  /** How long a counted transaction id is remembered, so a re-sent copy is dropped. */
  val DefaultDedupeRetention: Duration = Duration.ofDays(7)

  private val DurationText = """(\d+)\s*(ms|s|m|h|d)""".r

  /** "7d", "12h", "30m", "45s", "500ms" or ISO-8601 ("P7D", "PT12H"); None if it is neither or not positive. */
  def parseDuration(text: String): Option[Duration] = {
    val t = text.trim
    val parsed = t.toLowerCase match {
      case DurationText(n, unit) =>
        try {
          val v = n.toLong
          Some(unit match {
            case "ms" => Duration.ofMillis(v)
            case "s" => Duration.ofSeconds(v)
            case "m" => Duration.ofMinutes(v)
            case "h" => Duration.ofHours(v)
            case _ => Duration.ofDays(v)
          })
        } catch { case _: NumberFormatException | _: ArithmeticException => None }
      case _ =>
        try Some(Duration.parse(t.toUpperCase))
        catch { case _: DateTimeParseException => None }
    }
    parsed.filter(d => !d.isNegative && !d.isZero)
  }

  private val builder = OParser.builder[Options]
  private val parser = {
    import builder._
    OParser.sequence(
      programName("txpipe-consumer"),
      head("txpipe-consumer", "sums transaction amounts per account with Kafka Streams"),
      opt[String]('b', "bootstrap-servers").required().valueName("HOST:PORT,...")
        .action((v, o) => o.copy(bootstrapServers = v)).text("Kafka bootstrap servers"),
      opt[String]('s', "schema-registry").required().valueName("URL")
        .action((v, o) => o.copy(schemaRegistry = v)).text("schema registry base URL (may include a path)"),
      opt[String]('t', "topic").required().valueName("TOPIC")
        .action((v, o) => o.copy(topic = v)).text("input topic; writes TOPIC-totals and TOPIC-dlq"),
      opt[String]('g', "group").required().valueName("GROUP")
        .action((v, o) => o.copy(group = v)).text("consumer group, used as the Kafka Streams application.id"),
      opt[String]("state-dir").valueName("DIR")
        .action((v, o) => o.copy(stateDir = Some(v))).text("local state directory (Kafka Streams default if unset)"),
      opt[String]("processing-guarantee").valueName("exactly_once_v2|at_least_once")
        .validate(v => if (v == ExactlyOnceV2 || v == AtLeastOnce) success else failure(s"unknown processing guarantee: $v"))
        .action((v, o) => o.copy(processingGuarantee = v))
        .text(s"default $ExactlyOnceV2; $AtLeastOnce is for comparison: after a crash, work redone since the last commit can be counted twice or missed"),
      opt[Long]("commit-interval-ms").valueName("MS")
        .validate(v => if (v >= 0) success else failure("--commit-interval-ms must be >= 0"))
        .action((v, o) => o.copy(commitIntervalMs = v))
        .text(s"how often Kafka Streams commits (default $DefaultCommitIntervalMs; shorter makes <topic>-totals visible to read_committed readers sooner)"),
      opt[Int]("partitions").valueName("N")
        .validate(v => if (v >= 1) success else failure("--partitions must be >= 1"))
        .action((v, o) => o.copy(partitions = v)).text("partitions of topics this creates (default 6)"),
      opt[Int]("replication-factor").valueName("N")
        .validate(v => if (v >= 1 && v <= Short.MaxValue) success else failure("--replication-factor must be >= 1"))
        .action((v, o) => o.copy(replicationFactor = Some(v.toShort)))
        .text("replication factor of created and internal topics (default: the brokers' default.replication.factor)"),
      opt[Int]("topic-wait-seconds").valueName("S")
        .validate(v => if (v >= 0) success else failure("--topic-wait-seconds must be >= 0"))
        .action((v, o) => o.copy(topicWaitSeconds = v)).text("how long to wait for the input topic (default 300)"),
      opt[String]("dedupe-retention").valueName("DURATION")
        .validate(v =>
          if (parseDuration(v).isDefined) success
          else failure(s"--dedupe-retention: not a positive duration: $v (e.g. 7d, 12h, 30m, PT1H)"))
        .action((v, o) => o.copy(dedupeRetention = parseDuration(v).get))
        .text("how long counted transaction ids are remembered to drop re-sent copies (default 7d)"),
      opt[String]("schema-missing-wait").valueName("DURATION")
        .validate(v =>
          if (parseDuration(v).isDefined) success
          else failure(s"--schema-missing-wait: not a positive duration: $v (e.g. 5s, 500ms)"))
        .action((v, o) => o.copy(schemaMissingWait = parseDuration(v).get))
        .text(s"how long a schema id the registry does not know is asked again before its record goes to the DLQ " +
          s"(default ${HttpSchemaRegistry.DefaultMissingWait.toSeconds}s; keep it under the transaction timeout, 10s by default)"),
      opt[String]('X', "config").unbounded().valueName("KEY=VALUE")
        .validate(v => if (v.indexOf('=') > 0) success else failure(s"--config expects KEY=VALUE, got $v"))
        .action { (v, o) =>
          val i = v.indexOf('=')
          o.copy(config = o.config :+ (v.substring(0, i).trim -> v.substring(i + 1).trim))
        }
        .text("any Kafka Streams / client setting, applied last (repeatable), e.g. -X session.timeout.ms=10000; " +
          "schema.registry.* keys go to the registry client"),
      opt[String]("client-config").valueName("FILE")
        .action((v, o) => o.copy(clientConfig = Some(v)))
        .text(s"Java properties file of client settings for every client of the process (Kafka Streams, admin, " +
          s"schema registry): security.protocol, sasl.*, ssl.*, schema.registry.basic.auth.user.info, " +
          s"schema.registry.ssl.truststore.*; the place for secrets (default $$$ClientConfigEnv; -X wins)"),
      opt[Int]("http-port").valueName("PORT")
        .validate(v => if (v >= 0 && v <= 65535) success else failure("--http-port must be 0..65535"))
        .action((v, o) => o.copy(httpPort = Some(v)))
        .text(
          s"serve account totals, the live page, health and metrics over HTTP on PORT (default $$$HttpPortEnv, else 0: off); " +
            "HTTPS when the client config gives http.ssl.keystore.location"),
      opt[String]("http-host").valueName("HOST")
        .action((v, o) => o.copy(httpHost = Some(v)))
        .text(s"address the HTTP service binds to (default $$$HttpHostEnv, else $DefaultHttpHost; 0.0.0.0 for all interfaces)"),
      opt[String]("http-advertised-host").valueName("HOST")
        .action((v, o) => o.copy(httpAdvertisedHost = Some(v)))
        .text(s"the name other instances reach this one's HTTP service by, for forwarded queries (default " +
          s"$$$HttpAdvertisedHostEnv, else --http-host, or this machine's host name when that is 0.0.0.0)"),
      help('h', "help").text("print this help and exit")
    )
  }

  /** Either the options, or the exit code to stop with after usage or help was printed. */
  def parse(args: Seq[String], env: Map[String, String] = sys.env): Either[Int, Options] =
    // Help must win over "missing required option" errors, which scopt would report first.
    if (args.exists(a => a == "-h" || a == "--help")) {
      System.out.println(usage)
      Left(0)
    } else
      parseFlags(args).flatMap(o => fromEnv(o, env))

  // Each flag not given takes its environment variable, if set.
  private def fromEnv(o: Options, env: Map[String, String]): Either[Int, Options] = {
    def get(name: String) = env.get(name).map(_.trim).filter(_.nonEmpty)
    val port = o.httpPort.map(Right(_)).orElse(get(HttpPortEnv).map { v =>
      v.toIntOption.filter(p => p >= 0 && p <= 65535).toRight {
        System.err.println(s"error: $HttpPortEnv must be a port number 0..65535, got $v")
        2
      }
    })
    port match {
      case Some(Left(code)) => Left(code)
      case p =>
        Right(o.copy(
          clientConfig = o.clientConfig.orElse(get(ClientConfigEnv)),
          httpPort = p.flatMap(_.toOption),
          httpHost = o.httpHost.orElse(get(HttpHostEnv)),
          httpAdvertisedHost = o.httpAdvertisedHost.orElse(get(HttpAdvertisedHostEnv))
        ))
    }
  }

  private def parseFlags(args: Seq[String]): Either[Int, Options] = {
    val (result, effects) = OParser.runParser(parser, args, Options())
    var exit: Option[Int] = None
    var errors = false
    effects.foreach {
      case OEffect.DisplayToOut(msg) => System.out.println(msg)
      case OEffect.DisplayToErr(msg) => System.err.println(msg)
      case OEffect.ReportError(msg) => errors = true; System.err.println(s"error: $msg")
      case OEffect.ReportWarning(msg) => System.err.println(s"warning: $msg")
      case OEffect.Terminate(state) => exit = Some(if (state.isRight) 0 else 2)
    }
    if (errors) {
      System.err.println(OParser.usage(parser))
      Left(2)
    } else
      exit match {
        case Some(code) => Left(code)
        case None => result.toRight(2)
      }
  }

  /** The usage text printed for --help and after bad flags. */
  def usage: String = OParser.usage(parser)
}
