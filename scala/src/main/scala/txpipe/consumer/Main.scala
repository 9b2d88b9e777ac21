package txpipe.consumer

import java.io.IOException
import java.time.Duration
import java.util.Properties
import java.util.concurrent.{CountDownLatch, Executors, TimeUnit}
import java.util.concurrent.atomic.AtomicReference

import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.CommonClientConfigs
import org.apache.kafka.clients.admin.{Admin, AdminClientConfig}
import org.apache.kafka.clients.consumer.ConsumerConfig
import org.apache.kafka.clients.producer.ProducerConfig
import org.apache.kafka.common.{Metric, MetricName}
import org.apache.kafka.common.serialization.Serdes
import org.apache.kafka.streams.errors.{
  DefaultProductionExceptionHandler,
  LogAndFailProcessingExceptionHandler,
  StreamsUncaughtExceptionHandler
}
import org.apache.kafka.streams.processor.UsePartitionTimeOnInvalidTimestamp
import org.apache.kafka.streams.state.HostInfo
import org.apache.kafka.streams.{CloseOptions, KafkaStreams, KeyQueryMetadata, StreamsConfig}
import org.slf4j.LoggerFactory
import txpipe.consumer.lifecycle.{ByAccountPurge, ThreadReplacement, TopicSetup}
import txpipe.consumer.output.{DeadLetters, LinesFlushedOnAck, StdoutLines}
import txpipe.consumer.registry.{
  HttpSchemaRegistry,
  RegistryAuthenticationFailed,
  RegistryLookupAbandoned,
  RegistryTrustFailed,
  SchemaRegistryException
}
import txpipe.consumer.service.{
  CommittedTotals,
  HttpService,
  HttpTls,
  Readiness,
  RegistryWatch,
  ServiceMetrics,
  TotalsEvents
}
import txpipe.consumer.security.{AccessDenied, AccessFailures, ClientConfig, ListenerProbe, RegistryClientSettings}
import txpipe.consumer.storage.{BoundedRocksDb, SeenIds}

/** Entry point: totals transactions from a Kafka topic until stopped. */
object Main {

  private val log = LoggerFactory.getLogger("txpipe.consumer.Main")
  private val CloseTimeout = Duration.ofSeconds(30)
  private val CountsLogEverySeconds = 30L
  private val PurgeFirstAfterSeconds = 15L
  private val PurgeEverySeconds = 60L
  private val MaxThreadReplacements = 3
  private val ThreadReplacementWindow = Duration.ofMinutes(10)
  private val RegistryCheckEvery = Duration.ofSeconds(2)
  private val RegistryAnsweredWithin = Duration.ofSeconds(15)
  @volatile private var shutdownHookRunning = false

  /** Runs the consumer; exits 2 on bad flags, 1 on start-up failure or a fatal stream error. */
  def main(args: Array[String]): Unit = {
    val code = Options.parse(args.toSeq) match {
      case Left(code) => code
      case Right(options) => run(options)
    }
    // During a JVM shutdown System.exit would block forever; the JVM is ending anyway.
    if (!shutdownHookRunning) sys.exit(code)
  }

  /** Prepares topics, then runs Streams until it fails or the process is told to stop. */
  def run(flags: Options): Int = {
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(flags.topicWaitSeconds.toLong)
    val clients = clientConfig(flags) match {
      case Left(why) =>
        log.error(why)
        return 1
      case Right(c) => c
    }
    // From here on every client takes the same settings: the file's, then -X.
    val options = flags.copy(config = clients.kafka)
    val registrySettings = RegistryClientSettings.from(clients.registry) match {
      case Left(why) =>
        log.error(why)
        return 1
      case Right(s) => s
    }
    ListenerProbe.check(options.bootstrapServers, clients.securityProtocol) match {
      case Left(why) =>
        log.error(why)
        return 1
      case Right(()) => ()
    }
    val httpTls = HttpTls.from(clients.http) match {
      case Left(why) =>
        log.error(why)
        return 1
      case Right(t) => t
    }
    val counters = new Counters
    // Set once Streams and the view exist; the metrics read them through these.
    val streamsRef = new AtomicReference[KafkaStreams]()
    val viewRef = new AtomicReference[CommittedTotals]()
    val metrics = if (options.servicePort == 0) None
    else Some(new ServiceMetrics(
      counters,
      () => Option(streamsRef.get).fold[java.util.Map[MetricName, _ <: Metric]](java.util.Map.of())(_.metrics()),
      () => Option(viewRef.get)))
    val registry = new HttpSchemaRegistry(
      options.schemaRegistry,
      missingWait = options.schemaMissingWait,
      settings = registrySettings,
      onRequest = metrics.fold[(String, Long) => Unit]((_, _) => ())(m => m.registryLookup)
    )
    // Served from here on, before the topics are ready: an orchestrator sees a live process waiting
    // for its input topic (not ready), not one it should restart.
    val self = advertisedService(options)
    val service =
      try
        for (h <- self; m <- metrics)
          yield startService(options, h, httpTls, streamsRef, registry, counters, m, viewRef)
      catch {
        case e: IOException =>
          log.error(s"cannot serve HTTP on ${options.serviceBindHost}:${options.servicePort}: ${e.getMessage}")
          return 1
      }
    // A wrong base URL would send every record to the DLQ while the consumer looks healthy.
    val probed =
      try registry.probe(deadline)
      catch { case e: SchemaRegistryException => Left(e.getMessage) }
    probed match {
      case Left(why) =>
        log.error(why)
        service.foreach(_.close())
        return 1
      case Right(()) => log.info(s"schema registry at ${registry.shownUrl} answers the Confluent API")
    }
    val prepared =
      try
        prepareTopics(options, deadline) match {
          case Some(p) => p
          case None =>
            service.foreach(_.close())
            return 1
        }
      catch {
        case e: AccessDenied =>
          log.error(e.getMessage)
          service.foreach(_.close())
          return 1
      }
    val inputPartitions = prepared.inputPartitions
    val byAccount = TransactionTopology.byAccountTopic(options.group)
    log.info(s"totalling each account of the $inputPartitions partitions of ${options.topic} on its murmur2 partition; " +
      s"transactions found elsewhere (another partitioner, key or none) move there through $byAccount")

    val config = streamsConfig(options, inputPartitions)
    // Kafka Streams tells every instance where each key's owner serves its queries.
    self.foreach(h => config.put(StreamsConfig.APPLICATION_SERVER_CONFIG, s"${h.host}:${h.port}"))
    val dlqMaxRecordBytes = DeadLetters.maxRecordBytes(producerMaxRequestSize(config), prepared.dlqMaxMessageBytes)
    val topology = TransactionTopology.createTopology(
      options.topic,
      options.group,
      registry,
      inputPartitions,
      dedupeRetention = options.dedupeRetention,
      counters = counters,
      dlqMaxRecordBytes = dlqMaxRecordBytes,
      // Published as often as committed: a read_committed reader sees a total about one commit later.
      publishInterval = Duration.ofMillis(options.commitIntervalMs)
    )
    val streams = new KafkaStreams(topology, config)
    streamsRef.set(streams)
    log.info(s"dropping re-sent transactions on (account_number, transaction_id), ids kept for ${options.dedupeRetention}; " +
      s"dead letters over $dlqMaxRecordBytes bytes are replaced by a marker")
    // The counts since this process started, every CountsLogEverySeconds while they change.
    val countsLogger = Executors.newSingleThreadScheduledExecutor { (r: Runnable) =>
      val t = new Thread(r, "txpipe-housekeeping"); t.setDaemon(true); t
    }
    val purgeAdmin = Admin.create(adminProps(options, "purge"))
    val purge = new ByAccountPurge(purgeAdmin, options.group, byAccount)
    countsLogger.scheduleWithFixedDelay(() => purge.purgeOnce(), PurgeFirstAfterSeconds, PurgeEverySeconds, TimeUnit.SECONDS)
    var lastCounts = ""
    countsLogger.scheduleAtFixedRate(
      () => {
        val now = counters.summary
        if (now != lastCounts) log.info(s"counts: $now")
        lastCounts = now
      },
      CountsLogEverySeconds,
      CountsLogEverySeconds,
      TimeUnit.SECONDS
    )
    val stopped = new CountDownLatch(1)
    @volatile var exitCode = 0

    val replacement = new ThreadReplacement(MaxThreadReplacements, ThreadReplacementWindow)
    streams.setUncaughtExceptionHandler(new StreamsUncaughtExceptionHandler {
      override def handle(e: Throwable): StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse =
        registryFailure(e) match {
          case Some(failure @ (_: RegistryAuthenticationFailed | _: RegistryTrustFailed)) =>
            // Nothing can be decoded until an operator fixes the credentials or the trust: one line, and stop.
            log.error(failure.getMessage)
            exitCode = 1
            StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT
          case _ if AccessFailures.explain(e).isDefined =>
            // The cluster refused this consumer: no replacement thread would fare better.
            log.error(AccessFailures.explain(e).get)
            exitCode = 1
            StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT
          case Some(_: RegistryLookupAbandoned) =>
            log.info("a schema lookup was abandoned by the shutdown; its record is read again after a restart")
            StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT
          case _ => replaceOrStop(e)
        }

      private def replaceOrStop(e: Throwable): StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse =
        if (replacement.replace(e)) {
          log.warn(
            s"stream thread failed on its transaction, replacing it; the open transaction is aborted and " +
              s"its tasks go on from the last commit (at most $MaxThreadReplacements in $ThreadReplacementWindow): $e",
            e
          )
          StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD
        } else {
          log.error(s"stream thread failed, shutting down: $e", e)
          exitCode = 1
          StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT
        }
    })
    streams.setStateListener { (newState, oldState) =>
      log.info(s"streams state $oldState -> $newState")
      if (newState == KafkaStreams.State.ERROR || newState == KafkaStreams.State.NOT_RUNNING) stopped.countDown()
    }
    Runtime.getRuntime.addShutdownHook(new Thread(
      () => {
        shutdownHookRunning = true
        log.info("shutdown requested, closing Kafka Streams")
        // Ends a lookup that is waiting out a registry outage (its record is not dead-lettered but
        // read again after a restart), or close would wait the full timeout; lookups still ask once.
        registry.stopWaiting()
        service.foreach(_.close())
        // Leaving the group hands this instance's partitions over at once, not after session.timeout.ms.
        val leave =
          CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP).withTimeout(CloseTimeout)
        if (!streams.close(leave)) log.warn(s"Kafka Streams did not close within $CloseTimeout")
        registry.close()
        StdoutLines.flush()
        log.info(s"counts at shutdown: ${counters.summary}")
        stopped.countDown()
      },
      "txpipe-shutdown"
    ))

    streams.start()
    stopped.await()
    if (!shutdownHookRunning) {
      registry.stopWaiting()
      service.foreach(_.close())
      streams.close(CloseTimeout)
      registry.close()
      StdoutLines.flush()
      log.info(s"counts at exit: ${counters.summary}")
    }
    countsLogger.shutdownNow()
    purgeAdmin.close(Duration.ofSeconds(5))
    exitCode
  }

  /** Where other instances reach this one's HTTP service, when it is on. */
  def advertisedService(options: Options): Option[HostInfo] =
    if (options.servicePort == 0) None
    else {
      val host = options.httpAdvertisedHost.getOrElse(options.serviceBindHost) match {
        // An address that means "every interface" cannot be dialled: the machine's own address can
        // (a container's address on its network; its name, the container id, may not resolve elsewhere).
        case "0.0.0.0" | "::" | "" => java.net.InetAddress.getLocalHost.getHostAddress
        case h => h
      }
      Some(new HostInfo(host, options.servicePort))
    }

  /** Settings of a plain consumer of this process: the bootstrap servers, then every -X key a consumer knows. */
  def consumerProps(options: Options, role: String): Properties = clientProps(options, role, ConsumerConfig.configNames())

  // The committed view, its live events, the registry watch and the HTTP server, all started.
  private def startService(
      options: Options,
      self: HostInfo,
      tls: HttpTls,
      streamsRef: AtomicReference[KafkaStreams],
      registry: HttpSchemaRegistry,
      counters: Counters,
      metrics: ServiceMetrics,
      viewRef: AtomicReference[CommittedTotals]): AutoCloseable = {
    val scheduler = Executors.newScheduledThreadPool(
      2,
      (r: Runnable) => {
        val t = new Thread(r, "txpipe-service"); t.setDaemon(true); t
      })
    val eventsRef = new AtomicReference[TotalsEvents]()
    val view = new CommittedTotals(
      consumerProps(options, "committed-view"),
      TransactionTopology.totalsTopic(options.topic),
      t => Option(eventsRef.get).foreach(_.changed(t)))
    viewRef.set(view)
    val events = new TotalsEvents(view, () => counters.counted.get)
    eventsRef.set(events)
    val watch = new RegistryWatch(timeout => registry.ping(timeout), RegistryCheckEvery)
    val keySerializer = Serdes.String().serializer()
    // CREATED until Streams exists: the topics are still being prepared.
    def state(): KafkaStreams.State = Option(streamsRef.get).fold(KafkaStreams.State.CREATED)(_.state())
    val http = new HttpService(
      options.serviceBindHost,
      options.servicePort,
      tls,
      self,
      view,
      events,
      metrics,
      () => state(),
      account =>
        Option(streamsRef.get).fold(KeyQueryMetadata.NOT_AVAILABLE)(
          _.queryMetadataForKey(TransactionTopology.TotalsStore, account, keySerializer)),
      () => Readiness.live(state(), Option(streamsRef.get).fold(0)(aliveStreamThreads)),
      () => Readiness.ready(state(), watch.current, System.currentTimeMillis(), RegistryAnsweredWithin.toMillis, view.failed)
    )
    view.start()
    events.start(scheduler)
    watch.start(scheduler)
    http.start()
    () => {
      http.close()
      scheduler.shutdownNow()
      view.close()
    }
  }

  private def aliveStreamThreads(streams: KafkaStreams): Int =
    try streams.metadataForLocalThreads().asScala.count(_.threadState != "DEAD")
    catch { case _: IllegalStateException => 0 }

  /** The producer's batch size for an input topic of `inputPartitions`: see streamsConfig. */
  def producerBatchBytes(inputPartitions: Int): Int =
    math.max(16 * 1024, math.min(256 * 1024, (16 << 20) / (5 * math.max(1, inputPartitions))))

  /** The Kafka Streams configuration for these options, reading a topic of `inputPartitions`. */
  def streamsConfig(options: Options, inputPartitions: Int): Properties = {
    val p = new Properties()
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, options.group)
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrapServers)
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, options.processingGuarantee)
    // -1: the brokers' default.replication.factor, as for the topics TopicSetup creates.
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, Int.box(options.replicationFactor.fold(-1)(_.toInt)))
    options.stateDir.foreach(dir => p.put(StreamsConfig.STATE_DIR_CONFIG, dir))
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.box(options.commitIntervalMs))
    // The settings below were each measured side by side: docs/operations.md has the figures.
    // Streams lingers 100 ms for bigger batches, but every exactly-once commit must first send and
    // await whatever is lingering, with processing stopped; 5 ms leaves little to wait for.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), Int.box(5))
    // The first commit's offsets go out as a retry once the group coordinator is found, after
    // retry.backoff.ms with processing stopped: 10 ms, not Kafka's 100 (it still doubles, to 1 s).
    p.put(StreamsConfig.producerPrefix(ProducerConfig.RETRY_BACKOFF_MS_CONFIG), Int.box(10))
    // A poll's burst of totals and id changelog entries went out as many small requests in Kafka's
    // 16 KiB batches. Smaller for wide topics: one open batch per partition written fits in half the buffer.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), Int.box(producerBatchBytes(inputPartitions)))
    // A backlog drains in fewer polls (Streams' 1000 made poll() a visible share of the stream
    // thread); a live flow is handed over as it arrives either way.
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), Int.box(5000))
    // After an assignment tasks start one by one, and a fetch for caught-up partitions would wait
    // out the broker's 500 ms while the other backlogs sat behind it; a live flow fills a fetch sooner.
    p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), Int.box(100))
    // The same for the restore consumer: tasks restore one after another, and a fetch of one
    // task's empty changelogs held the next tasks back.
    p.put(StreamsConfig.restoreConsumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), Int.box(100))
    // Idling would hold a task back to process its input and by-account partitions in timestamp
    // order; the totals do not depend on that order, and Kafka 4.2's idling check is not free.
    p.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, Long.box(StreamsConfig.MAX_TASK_IDLE_MS_DISABLED))
    // Native memory of the state stores under one budget, so it does not grow with the data written.
    p.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, classOf[BoundedRocksDb])
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArray().getClass)
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArray().getClass)
    // A record that cannot be written must stop the app; skipping it would silently lose money.
    p.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, classOf[DefaultProductionExceptionHandler])
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, classOf[LogAndFailProcessingExceptionHandler])
    // The buffered lines are written out before any later send completes, so before a commit.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG), classOf[LinesFlushedOnAck].getName)
    // A record with no valid timestamp (a producer may write -1) would stop the stream thread
    // with Streams' default extractor, on every restart: it is totalled at its partition's time.
    p.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, classOf[UsePartitionTimeOnInvalidTimestamp])
    // A new group must total the topic from its first record, not from whatever arrives next.
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest")
    options.config.foreach { case (k, v) => p.put(k, v) }
    p
  }

  // Streams sets a changelog's configuration only when it creates the topic, so a changed
  // --dedupe-retention would not reach the ids already kept: set it before Streams starts.
  private def alignIdChangelog(setup: TopicSetup, options: Options, deadlineNanos: Long): Unit = {
    val changelog = TransactionTopology.changelogTopic(options.group, TransactionTopology.SeenIdsStore)
    val wanted = SeenIds.changelogConfig(options.dedupeRetention).asScala.toMap
    try
      setup.align(changelog, wanted, deadlineNanos).foreach { case (key, (was, now)) =>
        log.info(s"set $key of $changelog to $now (was $was), for --dedupe-retention ${options.dedupeRetention}")
      }
    catch {
      case e: Exception =>
        log.warn(s"could not check the configuration of $changelog against --dedupe-retention ${options.dedupeRetention} ($e); " +
          s"it keeps what it had. To set it by hand: kafka-configs.sh --bootstrap-server ${options.bootstrapServers} " +
          s"--alter --entity-type topics --entity-name $changelog --add-config " +
          wanted.map { case (k, v) => s"$k=$v" }.mkString(","))
    }
  }

  /** The producer's max.request.size in `config` (Streams' producer prefix first, then the plain key, then Kafka's default). */
  def producerMaxRequestSize(config: Properties): Int =
    Option(config.get(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)))
      .orElse(Option(config.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)))
      .map(_.toString.trim.toInt)
      .getOrElse(1024 * 1024)

  // The registry exception behind a stream thread's failure, if that is what it is.
  private def registryFailure(e: Throwable): Option[SchemaRegistryException] =
    Iterator.iterate(e)(_.getCause).takeWhile(_ != null).take(10).collectFirst { case r: SchemaRegistryException => r }

  /** The client config file's settings (from --client-config or its environment variable) with -X applied last. */
  def clientConfig(options: Options): Either[String, ClientConfig] =
    options.clientConfig
      .map(path => ClientConfig.load(java.nio.file.Paths.get(path)))
      .getOrElse(Right(ClientConfig.Empty))
      .map { file =>
        if (options.clientConfig.isDefined) log.info(s"client config ${options.clientConfig.get}: ${file.describe}")
        file.withOverrides(options.config)
      }

  /** Settings of this process's own admin clients: the bootstrap servers, then every -X key an admin client knows. */
  def adminProps(options: Options, role: String): Properties = clientProps(options, role, AdminClientConfig.configNames())

  // bootstrap.servers and client.id are the same key for every Kafka client.
  private def clientProps(options: Options, role: String, known: java.util.Set[String]): Properties = {
    val props = new Properties()
    props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, options.bootstrapServers)
    props.put(CommonClientConfigs.CLIENT_ID_CONFIG, s"${options.group}-$role")
    options.config.foreach { case (k, v) => if (known.contains(k)) props.put(k, v) }
    props
  }

  private final case class Prepared(inputPartitions: Int, dlqMaxMessageBytes: Option[Int])

  // What the topology needs to know once the output topics exist and the input topic does.
  private def prepareTopics(options: Options, deadlineNanos: Long): Option[Prepared] = {
    val admin = Admin.create(adminProps(options, "setup"))
    try {

      val setup = new TopicSetup(admin, options.partitions, options.replicationFactor)
      val totals = TransactionTopology.totalsTopic(options.topic)
      val dlq = TransactionTopology.dlqTopic(options.topic)
      if (!setup.ensureOutputTopics(totals, dlq, deadlineNanos)) {
        log.error(s"could not create $totals and $dlq on ${options.bootstrapServers} within ${options.topicWaitSeconds}s")
        None
      } else {
        val partitions = setup.awaitTopic(options.topic, deadlineNanos)
        if (partitions.isEmpty)
          log.error(s"input topic ${options.topic} did not appear on ${options.bootstrapServers} within ${options.topicWaitSeconds}s; giving up")
        if (partitions.nonEmpty) {
          alignIdChangelog(setup, options, deadlineNanos)
          // An upgrade starts the id store empty: say so while the old changelog is still there.
          setup.existing(TransactionTopology.retiredChangelogs(options.group), deadlineNanos).foreach { old =>
            log.warn(s"topic $old holds the ids counted by an earlier version of this consumer, and this version " +
              s"does not read it: a transaction counted before the upgrade and sent again now is counted again. " +
              s"Drain the input before upgrading; then delete the topic (kafka-topics.sh --bootstrap-server " +
              s"${options.bootstrapServers} --delete --topic $old)")
          }
        }
        partitions.flatMap { n =>
          val byAccount = TransactionTopology.byAccountTopic(options.group)
          setup.ensureByAccountTopic(byAccount, n, deadlineNanos) match {
            case Left(why) => log.error(why); None
            case Right(()) => Some(Prepared(n, setup.maxMessageBytes(dlq, deadlineNanos)))
          }
        }
      }
    } finally admin.close(Duration.ofSeconds(5))
  }
}
