package txpipe.consumer.internal

import java.nio.ByteBuffer
import java.nio.charset.StandardCharsets.UTF_8
import java.time.Duration

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.consumer.ConsumerRecord
import org.apache.kafka.common.config.TopicConfig
import org.scalatest.funsuite.AnyFunSuite

/** The batch layout of the seen-ids changelog, and how a restore unpacks it. */
class BatchLoggedIdStoreSpec extends AnyFunSuite {

  private def long(v: Long): Array[Byte] = ByteBuffer.allocate(8).putLong(v).array()

  private def entries(encoded: Array[Byte]): Vector[(String, Long)] = {
    val out = mutable.ArrayBuffer.empty[(String, Long)]
    IdBatch.foreach(encoded, "test") { (k, v) => out += (new String(k, UTF_8) -> ByteBuffer.wrap(v).getLong) }
    out.toVector
  }

  test("a batch gives back its entries in order, with the first key as its key, and is empty after take") {
    val batch = new IdBatch
    assert(batch.isEmpty && batch.firstKey == null)
    val ids = (1 to 5000).map(i => s"id-$i\u0000ACC-${i % 7}" -> (1700000000000L + i))
    ids.foreach { case (k, v) => batch.add(k.getBytes(UTF_8), long(v)) }
    assert(new String(batch.firstKey, UTF_8) == "id-1\u0000ACC-1")
    val encoded = batch.take()
    assert(batch.isEmpty && batch.size == 0)
    assert(entries(encoded) == ids.toVector)
    batch.add("again".getBytes(UTF_8), long(7))
    assert(entries(batch.take()) == Vector("again" -> 7L))
  }

  test("a record that is not a batch, or is cut short, is refused with its place named") {
    val batch = new IdBatch
    batch.add("k".getBytes(UTF_8), long(1))
    val good = batch.take()
    val notBatch = intercept[IllegalStateException](IdBatch.foreach(long(1), "changelog-3 at offset 9")((_, _) => ()))
    assert(notBatch.getMessage.contains("changelog-3 at offset 9") && notBatch.getMessage.contains("not a batch"))
    val cut = intercept[IllegalStateException](IdBatch.foreach(good.dropRight(3), "changelog-3 at offset 10")((_, _) => ()))
    assert(cut.getMessage.contains("changelog-3 at offset 10"))
  }

  test("a restore hands Kafka's callback every entry within the retention, and skips older ones") {
    val now = System.currentTimeMillis()
    val batch = new IdBatch
    batch.add("old".getBytes(UTF_8), long(now - Duration.ofHours(2).toMillis))
    batch.add("new".getBytes(UTF_8), long(now - Duration.ofMinutes(5).toMillis))
    val first = batch.take()
    batch.add("newer".getBytes(UTF_8), long(now))
    val second = batch.take()
    val restored = mutable.ArrayBuffer.empty[(String, Long)]
    val kafkas = new org.apache.kafka.streams.processor.internals.RecordBatchingStateRestoreCallback {
      override def restoreBatch(records: java.util.Collection[ConsumerRecord[Array[Byte], Array[Byte]]]): Unit =
        records.asScala.foreach(r => restored += (new String(r.key, UTF_8) -> r.offset))
    }
    val unpacking = BatchLoggedIdStore.unpacking(kafkas, Duration.ofHours(1))
    unpacking.restoreBatch(java.util.List.of(
      new ConsumerRecord("cl", 0, 41L, "old".getBytes(UTF_8), first),
      new ConsumerRecord("cl", 0, 42L, "newer".getBytes(UTF_8), second)))
    assert(restored.toVector == Vector("new" -> 41L, "newer" -> 42L))
  }

  test("the changelog forgets by age, a little after the retention, and is never compacted") {
    val config = BatchLoggedIdStore.changelogConfig(Duration.ofDays(7)).asScala
    assert(config(TopicConfig.CLEANUP_POLICY_CONFIG) == TopicConfig.CLEANUP_POLICY_DELETE)
    assert(config(TopicConfig.RETENTION_MS_CONFIG).toLong == Duration.ofDays(7).plusHours(1).toMillis)
    assert(config(TopicConfig.SEGMENT_MS_CONFIG).toLong <= config(TopicConfig.RETENTION_MS_CONFIG).toLong / 4)
  }
}
