package txpipe.consumer.service

import org.apache.kafka.streams.KafkaStreams

/** The health answers for orchestrators, as pure decisions over what the process knows. */
object Readiness {

  /** A health answer: ok, the Streams state, and what is wrong when not ok. */
  final case class Verdict(ok: Boolean, state: String, reasons: Seq[String])

  private val Dead = Set(
    KafkaStreams.State.ERROR,
    KafkaStreams.State.NOT_RUNNING,
    KafkaStreams.State.PENDING_ERROR,
    KafkaStreams.State.PENDING_SHUTDOWN)

  /** Live: Streams has not failed or stopped and (once started) has stream threads that are not dead. */
  def live(state: KafkaStreams.State, aliveThreads: Int): Verdict = {
    val reasons =
      if (Dead.contains(state)) Seq(s"Kafka Streams is $state")
      else if (state != KafkaStreams.State.CREATED && aliveThreads == 0) Seq("no stream thread is alive")
      else Nil
    Verdict(reasons.isEmpty, state.toString, reasons)
  }

  /** Ready: Streams is RUNNING, the registry answered within the last `registryWithinMs`, and the
    * committed view has read its topic up to where it was (`viewProblem` says why not). */
  def ready(
      state: KafkaStreams.State,
      registry: RegistryWatch.Status,
      nowMs: Long,
      registryWithinMs: Long,
      viewProblem: Option[String]): Verdict = {
    val streamsReason = if (state == KafkaStreams.State.RUNNING) None else Some(s"Kafka Streams is $state, not RUNNING")
    val registryReason = registry.lastOkMs match {
      case None => Some(s"the schema registry has not answered yet${registry.lastFailure.fold("")(f => s" ($f)")}")
      case Some(ok) if registry.lastFailureMs.exists(_ > ok) =>
        Some(s"the schema registry did not answer the last check: ${registry.lastFailure.getOrElse("no answer")}")
      case Some(ok) if nowMs - ok > registryWithinMs =>
        Some(s"the schema registry has not answered for ${(nowMs - ok) / 1000} s")
      case _ => None
    }
    val reasons = streamsReason.toSeq ++ registryReason ++ viewProblem
    Verdict(reasons.isEmpty, state.toString, reasons)
  }
}
