package txpipe.consumer.service

import org.apache.kafka.streams.{KafkaStreams, KeyQueryMetadata}
import org.apache.kafka.streams.state.HostInfo
import org.scalatest.funsuite.AnyFunSuite

class QueryRouteSpec extends AnyFunSuite {

  private val self = new HostInfo("127.0.0.1", 8081)
  private val other = new HostInfo("127.0.0.1", 8082)
  private def ownedBy(h: HostInfo) = new KeyQueryMetadata(h, java.util.Set.of(), 3)
  private val running = KafkaStreams.State.RUNNING

  test("the owner answers itself; any other instance forwards to the owner") {
    assert(QueryRoute.decide(running, ownedBy(self), self, forwarded = false) == QueryRoute.Local)
    assert(QueryRoute.decide(running, ownedBy(other), self, forwarded = false) == QueryRoute.Forward(other))
    // A forwarded request that reaches its owner is answered there.
    assert(QueryRoute.decide(running, ownedBy(self), self, forwarded = true) == QueryRoute.Local)
  }

  test("a request is forwarded at most once: a second hop is refused as an ownership move") {
    QueryRoute.decide(running, ownedBy(other), self, forwarded = true) match {
      case QueryRoute.Unavailable(reason) => assert(reason.contains("127.0.0.1:8082") && reason.contains("moving"))
      case r => fail(s"forwarded twice: $r")
    }
  }

  test("no owner known, a rebalance, or Streams not running: unavailable with the reason") {
    def reason(r: QueryRoute): String = r match {
      case QueryRoute.Unavailable(why) => why
      case other => fail(s"expected unavailable, got $other")
    }
    assert(reason(QueryRoute.decide(running, KeyQueryMetadata.NOT_AVAILABLE, self, forwarded = false)).contains("owns"))
    assert(reason(QueryRoute.decide(running, null, self, forwarded = false)).contains("owns"))
    assert(reason(QueryRoute.decide(running, ownedBy(HostInfo.unavailable), self, forwarded = false)).contains("owns"))
    assert(reason(QueryRoute.decide(KafkaStreams.State.REBALANCING, ownedBy(self), self, forwarded = false)).contains("rebalance"))
    assert(reason(QueryRoute.decide(KafkaStreams.State.CREATED, ownedBy(self), self, forwarded = false)).contains("CREATED"))
    assert(reason(QueryRoute.decide(KafkaStreams.State.ERROR, ownedBy(self), self, forwarded = false)).contains("ERROR"))
  }

  test("standbys do not count as owners") {
    val withStandby = new KeyQueryMetadata(other, java.util.Set.of(self), 3)
    assert(QueryRoute.decide(running, withStandby, self, forwarded = false) == QueryRoute.Forward(other))
  }
}
