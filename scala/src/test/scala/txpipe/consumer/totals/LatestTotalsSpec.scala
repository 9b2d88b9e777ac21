package txpipe.consumer.totals

import java.nio.charset.StandardCharsets.UTF_8

import scala.jdk.CollectionConverters._

import org.apache.kafka.streams.processor.api.MockProcessorContext
import org.apache.kafka.streams.state.KeyValueStore
import org.scalatest.funsuite.AnyFunSuite

class LatestTotalsSpec extends AnyFunSuite {

  private final class Fixture(val context: MockProcessorContext[AnyRef, AnyRef], val store: KeyValueStore[String, Array[Byte]]) {
    def published(): Vector[(String, String)] = {
      val out = context.forwarded().asScala.toVector.map { f =>
        assert(f.childName.orElse(null) == "sink")
        f.record.key.asInstanceOf[String] -> new String(f.record.value.asInstanceOf[Array[Byte]], UTF_8)
      }
      context.resetForwards()
      out
    }
  }

  private def withStore(body: Fixture => Unit): Unit =
    TotalsStores.withStore((context, store) => body(new Fixture(context, store)))

  private def bytes(s: String) = s.getBytes(UTF_8)

  test("each changed account is published once, with its latest total, and only at a publication") {
    withStore { f =>
      val latest = new LatestTotals(f.context, f.store, "sink")
      latest.publish(0L) // a new task with an empty store: nothing to resend
      latest.changed("A", bytes("1.00"), 1L)
      latest.changed("B", bytes("2.00"), 2L)
      latest.changed("A", bytes("3.00"), 3L)
      assert(f.published().isEmpty && latest.pending == 2)
      latest.publish(10L)
      assert(f.published() == Vector("A" -> "3.00", "B" -> "2.00"))
      latest.publish(20L)
      assert(f.published().isEmpty, "nothing changed since the last publication")
    }
  }

  test("a task that starts resends its whole store, a slice per publication, never an older total after a newer one") {
    withStore { f =>
      val accounts = (0 until 25).map(i => f"ACC-$i%02d")
      accounts.foreach(a => f.store.put(a, bytes(s"old-$a")))
      val latest = new LatestTotals(f.context, f.store, "sink", sliceSize = 10)
      // Changed before the resend reaches it: the change goes out now, and the resend later sends the
      // store's value, which is the same.
      f.store.put("ACC-20", bytes("new")); latest.changed("ACC-20", bytes("new"), 5L)
      latest.publish(10L)
      val first = f.published()
      assert(first.map(_._1) == accounts.take(10) :+ "ACC-20")
      latest.publish(20L)
      assert(f.published().map(_._1) == accounts.slice(10, 20))
      // Changed after the resend passed it: the store already holds it; the change goes out as a change.
      f.store.put("ACC-03", bytes("newer")); latest.changed("ACC-03", bytes("newer"), 6L)
      latest.publish(30L)
      assert(f.published() == ("ACC-20" -> "new") +: accounts.drop(21).map(a => a -> s"old-$a") :+ ("ACC-03" -> "newer"))
      latest.publish(40L)
      assert(f.published().isEmpty, "the resend happens once per start")
    }
  }
}
