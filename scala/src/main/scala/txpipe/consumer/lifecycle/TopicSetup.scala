package txpipe.consumer.lifecycle

import java.util.Optional
import java.util.concurrent.{ExecutionException, TimeUnit, TimeoutException}

import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.admin.{Admin, AlterConfigOp, ConfigEntry, NewTopic}
import org.apache.kafka.common.config.{ConfigResource, TopicConfig}
import org.apache.kafka.common.errors.{TopicExistsException, UnknownTopicOrPartitionException}
import org.slf4j.LoggerFactory
import txpipe.consumer.security.AccessFailures

/** Creates the output topics and waits for the input topic before Streams starts.
  *
  * @param replicationFactor of the topics it creates; None takes the brokers' default.replication.factor
  */
final class TopicSetup(admin: Admin, partitions: Int, replicationFactor: Option[Short]) {

  private val log = LoggerFactory.getLogger(classOf[TopicSetup])
  private val CallTimeoutMs = 10000L
  private val LogEveryMs = 10000L
  private val FirstRetryMs = 25L
  private val MaxRetryMs = 1000L

  /** Creates the compacted totals topic and the DLQ topic unless they exist; false on timeout. */
  def ensureOutputTopics(totalsTopic: String, dlqTopic: String, deadlineNanos: Long): Boolean = {
    val wanted = Seq(
      newTopic(totalsTopic, partitions)
        // Only the latest total per account matters, so the topic is compacted.
        .configs(Map(TopicConfig.CLEANUP_POLICY_CONFIG -> TopicConfig.CLEANUP_POLICY_COMPACT).asJava),
      newTopic(dlqTopic, partitions)
    )
    retryUntil(deadlineNanos, s"creating topics $totalsTopic and $dlqTopic") { () =>
      val results = admin.createTopics(wanted.asJava).values.asScala
      results.foreach { case (name, future) =>
        try {
          future.get(callTimeoutMs(deadlineNanos), TimeUnit.MILLISECONDS)
          log.info(s"created topic $name")
        } catch {
          case e: ExecutionException if e.getCause.isInstanceOf[TopicExistsException] => ()
        }
      }
      true
    }
  }

  /** Creates `topic`, through which records move to their account's partition, with exactly
    * `inputPartitions` partitions; Left(why) if it exists with another count or cannot be made. */
  def ensureByAccountTopic(topic: String, inputPartitions: Int, deadlineNanos: Long): Either[String, Unit] = {
    // Never deleted by time: a record is removed once the group has committed past it (ByAccountPurge),
    // so a consumer stopped for longer than any retention still finds every moved transaction.
    val wanted = newTopic(topic, inputPartitions)
      .configs(Map(
        TopicConfig.CLEANUP_POLICY_CONFIG -> TopicConfig.CLEANUP_POLICY_DELETE,
        TopicConfig.RETENTION_MS_CONFIG -> "-1").asJava)
    val made = retryUntil(deadlineNanos, s"creating topic $topic") { () =>
      try {
        admin.createTopics(java.util.List.of(wanted)).all().get(callTimeoutMs(deadlineNanos), TimeUnit.MILLISECONDS)
        log.info(s"created topic $topic with $inputPartitions partitions")
      } catch {
        case e: ExecutionException if e.getCause.isInstanceOf[TopicExistsException] => ()
      }
      true
    }
    if (!made) Left(s"could not create $topic")
    else
      awaitTopic(topic, deadlineNanos, "the topic it created") match {
        case Some(n) if n == inputPartitions => Right(())
        case Some(n) =>
          Left(s"$topic has $n partitions but the input has $inputPartitions; each account's task reads partition N of both, " +
            s"so they must match. Stop every instance of the group, delete $topic (kafka-topics.sh --delete --topic $topic) " +
            "once the group has consumed it, and start again")
        case None => Left(s"$topic did not appear after it was created")
      }
  }

  /** Waits until `topic` exists and returns its partition count; None if it still does not at the deadline. */
  def awaitTopic(topic: String, deadlineNanos: Long, role: String = "input topic"): Option[Int] = {
    var partitions: Option[Int] = None
    val found = retryUntil(deadlineNanos, s"waiting for $role $topic") { () =>
      if (!admin.listTopics().names().get(callTimeoutMs(deadlineNanos), TimeUnit.MILLISECONDS).contains(topic)) false
      else {
        val described = admin.describeTopics(java.util.List.of(topic)).allTopicNames()
          .get(callTimeoutMs(deadlineNanos), TimeUnit.MILLISECONDS)
        partitions = Some(described.get(topic).partitions.size)
        true
      }
    }
    if (found) partitions else None
  }

  /** Which of `names` exist; empty if the brokers do not answer by the deadline (one attempt, nothing waits on it). */
  def existing(names: Seq[String], deadlineNanos: Long): Seq[String] =
    try {
      val all = admin.listTopics().names().get(callTimeoutMs(deadlineNanos), TimeUnit.MILLISECONDS)
      names.filter(all.contains)
    } catch {
      case _: ExecutionException | _: TimeoutException => Seq.empty
    }

  /** The topic's max.message.bytes, or None if it cannot be read by the deadline (one attempt). */
  def maxMessageBytes(topic: String, deadlineNanos: Long): Option[Int] = {
    val resource = new ConfigResource(ConfigResource.Type.TOPIC, topic)
    try
      Option(admin.describeConfigs(java.util.List.of(resource)).all().get(callTimeoutMs(deadlineNanos), TimeUnit.MILLISECONDS)
        .get(resource).get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG)).flatMap(e => Option(e.value)).flatMap(_.trim.toIntOption)
    catch {
      case e @ (_: ExecutionException | _: TimeoutException) =>
        log.warn(s"could not read max.message.bytes of $topic ($e); dead letters are sized for the producer's limit alone")
        None
    }
  }

  /** Sets those of `wanted` that differ on an existing `topic`; returns each changed key with its
    * old and new value. A missing topic is left for Streams to create with `wanted`. */
  def align(topic: String, wanted: Map[String, String], deadlineNanos: Long): Map[String, (String, String)] = {
    val resource = new ConfigResource(ConfigResource.Type.TOPIC, topic)
    val current =
      try admin.describeConfigs(java.util.List.of(resource)).all().get(
          callTimeoutMs(deadlineNanos),
          TimeUnit.MILLISECONDS).get(resource)
      catch { case e: ExecutionException if e.getCause.isInstanceOf[UnknownTopicOrPartitionException] => return Map.empty }
    val changed = wanted.flatMap { case (key, value) =>
      val was = Option(current.get(key)).map(_.value)
      if (was.contains(value)) None else Some(key -> (was.getOrElse("unset"), value))
    }
    if (changed.nonEmpty) {
      val ops = changed.map { case (key, (_, value)) =>
        new AlterConfigOp(new ConfigEntry(key, value), AlterConfigOp.OpType.SET): AlterConfigOp
      }
      admin.incrementalAlterConfigs(java.util.Map.of(resource, ops.toList.asJava)).all()
        .get(callTimeoutMs(deadlineNanos), TimeUnit.MILLISECONDS)
    }
    changed
  }

  private def newTopic(name: String, n: Int): NewTopic =
    new NewTopic(
      name,
      Optional.of(Int.box(n)),
      replicationFactor.map(Short.box).fold(Optional.empty[java.lang.Short]())(Optional.of(_)))

  // No single broker call may carry the wait past the deadline the user gave.
  private def callTimeoutMs(deadlineNanos: Long): Long =
    math.max(100L, math.min(CallTimeoutMs, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())))

  // Runs `attempt` until it returns true or the deadline passes; broker errors count as "not yet".
  private def retryUntil(deadlineNanos: Long, what: String)(attempt: () => Boolean): Boolean = {
    var lastLog = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(LogEveryMs)
    // A topic just created is usually there within milliseconds: ask again soon, then less often.
    var pauseMs = FirstRetryMs
    while (true) {
      val problem =
        try { if (attempt()) return true else "not there yet" }
        catch {
          // Refused credentials, trust or grants do not heal by waiting: stop at once, saying which.
          case e: ExecutionException if AccessFailures.explain(e).isDefined => throw AccessFailures.rethrowable(e)
          case e: ExecutionException => s"${e.getCause.getClass.getSimpleName}: ${e.getCause.getMessage}"
          case _: TimeoutException => "no answer from the brokers yet"
          case e: org.apache.kafka.common.errors.RetriableException => s"${e.getClass.getSimpleName}: ${e.getMessage}"
        }
      val now = System.nanoTime()
      if (now - deadlineNanos >= 0) {
        log.error(s"gave up $what: $problem")
        return false
      }
      if (now - lastLog >= TimeUnit.MILLISECONDS.toNanos(LogEveryMs)) {
        log.info(s"$what: $problem")
        lastLog = now
      }
      Thread.sleep(math.min(pauseMs, math.max(1L, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - now))))
      pauseMs = math.min(MaxRetryMs, pauseMs * 2)
    }
    false
  }
}
