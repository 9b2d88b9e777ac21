package txpipe.consumer.storage

import java.io.File
import java.nio.charset.StandardCharsets.UTF_8
import java.time.Duration
import java.util.Properties

import scala.collection.mutable

import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.KeyValue
import org.apache.kafka.streams.processor.api.MockProcessorContext
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.TempDirs

class SeenIdStoreSpec extends AnyFunSuite {

  private val Retention = Duration.ofMinutes(10)
  private val T0 = 1767225600000L // 2026-01-01T00:00:00Z, on a segment boundary

  private def key(s: String): Bytes = Bytes.wrap(s.getBytes(UTF_8))
  private def time(ms: Long): Array[Byte] = SeenIdStore.encodeTime(ms)

  private final class Opened(dir: File, now: Long = T0) {
    val forgotten = mutable.ArrayBuffer.empty[Long]
    val store = new SeenIdStore("seen", Retention, n => forgotten += n, () => now)
    private val context =
      new MockProcessorContext[AnyRef, AnyRef](new Properties(), new org.apache.kafka.streams.processor.TaskId(0, 0), dir)
    store.init(context.getStateStoreContext, store)
  }

  private def withStore(body: (File, Opened) => Unit): Unit =
    TempDirs.withTempDir("seen-id-store") { dir =>
      val opened = new Opened(dir.toFile)
      try body(dir.toFile, opened)
      finally opened.store.close()
    }

  test("an id is found with the time it was first seen, in whichever segment holds it") {
    withStore { (_, o) =>
      o.store.put(key("a"), time(T0))
      o.store.put(key("b"), time(T0 + Retention.toMillis / 2 + 1)) // the next segment
      assert(o.store.segmentCount == 2)
      assert(SeenIdStore.timeOf(o.store.get(key("a"))) == T0)
      assert(SeenIdStore.timeOf(o.store.get(key("b"))) == T0 + Retention.toMillis / 2 + 1)
      assert(o.store.get(key("c")) == null)
      // Keys below and above the greatest stored key, and between stored ones.
      assert(o.store.get(key("0")) == null && o.store.get(key("zz")) == null && o.store.get(key("ab")) == null)
      assert(o.store.putIfAbsent(key("a"), time(T0 + 5)) != null)
      assert(SeenIdStore.timeOf(o.store.get(key("a"))) == T0)
      assert(SeenIdStore.timeOf(o.store.delete(key("a"))) == T0)
      assert(o.store.get(key("a")) == null)
    }
  }

  test("forgetting drops whole segments once they end a retention before the newest id, and nothing else") {
    withStore { (_, o) =>
      val segment = SeenIdStore.segmentMs(Retention)
      for (i <- 0 until 5000) o.store.put(key(f"old-$i%05d"), time(T0 + i))
      o.store.put(key("mid"), time(T0 + segment))
      // Just short of the first segment's end plus the retention: nothing is forgotten yet.
      o.store.put(key("late"), time(T0 + segment + Retention.toMillis - 1))
      assert(o.forgotten.isEmpty && o.store.get(key("old-00000")) != null)
      o.store.put(key("later"), time(T0 + 2 * segment + Retention.toMillis))
      assert(o.forgotten.toSeq == Seq(5000L, 1L))
      assert(o.store.get(key("old-00000")) == null && o.store.get(key("old-04999")) == null && o.store.get(key("mid")) == null)
      assert(o.store.get(key("late")) != null && o.store.get(key("later")) != null)
      assert(o.store.segmentCount == 2)
      // An id whose time is already forgotten is not stored at all.
      o.store.put(key("stale"), time(T0))
      assert(o.store.get(key("stale")) == null && o.store.segmentCount == 2)
    }
  }

  test("open segments stay few however long the store runs") {
    withStore { (_, o) =>
      val step = 1000L
      var t = T0
      var most = 0
      for (i <- 0 until 3000) {
        o.store.put(key(f"id-$i%06d"), time(t))
        most = math.max(most, o.store.segmentCount)
        t += step
      }
      // 3000 s of ids under a 600 s retention in 300 s segments: never more than three or four open.
      assert(most <= 4, most)
      assert(o.forgotten.sum >= 2000)
    }
  }

  test("the segment after the newest is opened ahead, used when time reaches it, and not left behind") {
    withStore { (dir, o) =>
      val segment = SeenIdStore.segmentMs(Retention)
      val first = T0 / segment
      val storeDir = new File(dir, "seen")
      o.store.put(key("a"), time(T0))
      val next = new File(storeDir, (first + 1).toString)
      val deadline = System.nanoTime() + 10000000000L
      while (!new File(next, "CURRENT").exists()) {
        assert(System.nanoTime() < deadline, s"the next segment was not opened ahead in $next within 10 s")
        Thread.sleep(10)
      }
      o.store.put(key("b"), time(T0 + segment))
      assert(o.store.segmentCount == 2 && o.store.get(key("b")) != null && o.store.get(key("a")) != null)
      // A jump past the spare (first + 2) drops it and opens the segment the time needs; the first
      // segment ended a retention before that time, so it goes.
      o.store.put(key("c"), time(T0 + 3 * segment))
      assert(o.store.segmentCount == 2 && o.store.get(key("c")) != null && o.store.get(key("b")) != null)
      o.store.close()
      val left = Option(storeDir.listFiles()).getOrElse(Array.empty[File]).map(_.getName).filter(_.toLongOption.isDefined)
      assert(left.sorted.toSeq == Seq(first + 1, first + 3).map(_.toString), left.toSeq)
    }
  }

  test("a reopened store finds its segments and their ids again") {
    TempDirs.withTempDir("seen-id-store") { dir =>
      val now = T0 + 1000
      val first = new Opened(dir.toFile, now)
      first.store.put(key("kept"), time(now))
      first.store.flush()
      first.store.close()
      val second = new Opened(dir.toFile, now + Retention.toMillis / 2)
      try {
        assert(SeenIdStore.timeOf(second.store.get(key("kept"))) == now)
        assert(second.store.get(key("other")) == null)
      } finally second.store.close()
      // Opened again long after: the old segment goes at once, before any new id arrives.
      val third = new Opened(dir.toFile, now + 3 * Retention.toMillis)
      try {
        assert(third.store.get(key("kept")) == null)
        assert(third.forgotten.toSeq == Seq(1L) && third.store.segmentCount == 0)
      } finally third.store.close()
    }
  }

  test("a restore skips expired ids and unpacks the batches earlier versions wrote") {
    withStore { (_, o) =>
      val now = T0 + Retention.toMillis * 3
      val records = new java.util.ArrayList[KeyValue[Array[Byte], Array[Byte]]]()
      records.add(KeyValue.pair("recent".getBytes(UTF_8), time(now - 1000)))
      records.add(KeyValue.pair("expired".getBytes(UTF_8), time(now - Retention.toMillis - 1)))
      records.add(KeyValue.pair("tombstone".getBytes(UTF_8), null))
      records.add(KeyValue.pair(
        "batch-first".getBytes(UTF_8),
        legacyBatch(Seq("b1" -> (now - 5), "b2" -> (now - Retention.toMillis - 5)))))
      o.store.restoreAll(records, now)
      assert(o.store.get(key("recent")) != null)
      assert(o.store.get(key("expired")) == null && o.store.get(key("tombstone")) == null)
      assert(SeenIdStore.timeOf(o.store.get(key("b1"))) == now - 5)
      assert(o.store.get(key("b2")) == null && o.store.get(key("batch-first")) == null)
    }
  }

  test("a damaged batch from an earlier version is reported with its size") {
    val damaged = legacyBatch(Seq("x" -> 1L)).dropRight(3)
    val e = intercept[IllegalArgumentException](LegacyIdBatches.foreach(damaged, "record 7")((_, _) => ()))
    assert(e.getMessage.contains("record 7"))
  }

  // The layout consumers before the seen-id store wrote: version 1, then length-prefixed keys and values.
  private def legacyBatch(entries: Seq[(String, Long)]): Array[Byte] = {
    val out = new java.io.ByteArrayOutputStream()
    val data = new java.io.DataOutputStream(out)
    data.writeByte(1)
    entries.foreach { case (k, t) =>
      val kb = k.getBytes(UTF_8)
      data.writeInt(kb.length); data.write(kb)
      data.writeInt(8); data.writeLong(t)
    }
    out.toByteArray
  }
}
