package txpipe.consumer.service

import java.time.Duration
import java.util.concurrent.{ScheduledExecutorService, TimeUnit}

import org.slf4j.LoggerFactory

/** Asks the schema registry every `every` whether it answers, for readiness: the consumer's own
  * lookups are cached and may not touch the registry for hours, so a stopped registry would only
  * show when a new schema id arrives. */
final class RegistryWatch(
    ping: Duration => Either[String, Unit],
    every: Duration,
    clock: () => Long = () => System.currentTimeMillis()) {

  private val log = LoggerFactory.getLogger(classOf[RegistryWatch])
  @volatile private var status = RegistryWatch.Status(None, None, None)

  /** What the last checks found. */
  def current: RegistryWatch.Status = status

  /** One check now. */
  def check(): Unit = {
    val outcome = ping(every)
    val now = clock()
    val was = status
    status = outcome match {
      case Right(()) =>
        if (was.lastFailureMs.exists(f => was.lastOkMs.forall(_ < f))) log.info("the schema registry answers again")
        was.copy(lastOkMs = Some(now))
      case Left(why) =>
        if (was.lastFailureMs.forall(f => was.lastOkMs.exists(_ > f))) log.warn(s"readiness: $why")
        was.copy(lastFailureMs = Some(now), lastFailure = Some(why))
    }
  }

  /** Checks every `every` on `scheduler`, starting now. */
  def start(scheduler: ScheduledExecutorService): Unit = {
    scheduler.scheduleWithFixedDelay(() => check(), 0, every.toMillis, TimeUnit.MILLISECONDS)
    ()
  }
}

/** Results of the registry checks. */
object RegistryWatch {

  /** When the registry last answered, when it last did not, and why. */
  final case class Status(lastOkMs: Option[Long], lastFailureMs: Option[Long], lastFailure: Option[String])
}
