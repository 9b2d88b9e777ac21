package txpipe.consumer.service

import java.time.Duration

import org.apache.kafka.streams.KafkaStreams.State
import org.scalatest.funsuite.AnyFunSuite

class ReadinessSpec extends AnyFunSuite {

  private val ok = RegistryWatch.Status(Some(1000L), None, None)

  test("ready only when Streams is RUNNING and the registry answered recently") {
    assert(Readiness.ready(State.RUNNING, ok, 2000L, 15000L, None).ok)
    val rebalancing = Readiness.ready(State.REBALANCING, ok, 2000L, 15000L, None)
    assert(!rebalancing.ok && rebalancing.reasons.exists(_.contains("REBALANCING")))
    val stale = Readiness.ready(State.RUNNING, ok, 20000L, 15000L, None)
    assert(!stale.ok && stale.reasons.exists(_.contains("has not answered for 19 s")))
    val failedSince =
      Readiness.ready(State.RUNNING, ok.copy(lastFailureMs = Some(1500L), lastFailure = Some("refused")), 2000L, 15000L, None)
    assert(!failedSince.ok && failedSince.reasons.exists(_.contains("refused")))
    val never = Readiness.ready(State.RUNNING, RegistryWatch.Status(None, None, None), 0L, 15000L, None)
    assert(!never.ok && never.reasons.exists(_.contains("not answered yet")))
    val view = Readiness.ready(State.RUNNING, ok, 2000L, 15000L, Some("the reader of t-totals failed"))
    assert(!view.ok && view.reasons == Seq("the reader of t-totals failed"))
  }

  test("live while Streams has not failed and has a thread alive") {
    assert(Readiness.live(State.RUNNING, 1).ok)
    assert(Readiness.live(State.REBALANCING, 2).ok)
    assert(Readiness.live(State.CREATED, 0).ok)
    assert(!Readiness.live(State.RUNNING, 0).ok)
    assert(!Readiness.live(State.ERROR, 1).ok && Readiness.live(State.ERROR, 1).reasons == Seq("Kafka Streams is ERROR"))
    assert(!Readiness.live(State.NOT_RUNNING, 0).ok)
  }

  test("the registry watch records answers and failures in order") {
    var now = 0L
    var answer: Either[String, Unit] = Right(())
    val watch = new RegistryWatch(_ => answer, Duration.ofSeconds(2), () => now)
    now = 10; watch.check()
    assert(watch.current.lastOkMs.contains(10L))
    answer = Left("connection refused"); now = 20; watch.check()
    assert(watch.current.lastFailureMs.contains(20L) && watch.current.lastFailure.contains("connection refused"))
    assert(!Readiness.ready(State.RUNNING, watch.current, 21, 15000, None).ok)
    answer = Right(()); now = 30; watch.check()
    assert(Readiness.ready(State.RUNNING, watch.current, 31, 15000, None).ok)
  }
}
