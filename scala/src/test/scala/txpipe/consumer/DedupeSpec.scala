package txpipe.consumer

import java.nio.charset.StandardCharsets.UTF_8
import java.time.Duration
import java.util.Properties

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.kafka.common.serialization.{ByteArrayDeserializer, ByteArraySerializer}
import org.apache.kafka.streams.{StreamsConfig, TopologyTestDriver}
import org.scalatest.funsuite.AnyFunSuite
import org.apache.kafka.common.utils.Bytes
import txpipe.consumer.output.DlqHeaders
import txpipe.consumer.storage.{SeenIdStore, SeenMark}
import txpipe.consumer.totals.TotalsProcessor
import txpipe.v1.AccountTotal
import txpipe.consumer.registry.RegisteredSchema

/** Re-sent transactions (same account and transaction_id) are counted once, within the retention. */
class DedupeSpec extends AnyFunSuite {

  private val Topic = "transactions"
  private val registry = new InMemorySchemaRegistry(Map(1 -> RegisteredSchema("PROTOBUF", TestFrames.TransactionProtoText)))

  private final class Fixture(val driver: TopologyTestDriver, val lines: mutable.Buffer[String], val counters: Counters) {
    val input = driver.createInputTopic(Topic, new ByteArraySerializer, new ByteArraySerializer)
    val totals =
      driver.createOutputTopic(TransactionTopology.totalsTopic(Topic), new ByteArrayDeserializer, new ByteArrayDeserializer)
    val dlq = driver.createOutputTopic(TransactionTopology.dlqTopic(Topic), new ByteArrayDeserializer, new ByteArrayDeserializer)
    def send(account: String, amount: Double, id: String): Unit =
      input.pipeInput(account.getBytes(UTF_8), TestFrames.frame(1, TestFrames.transaction(account, amount, id).toByteArray))
    def seenStore = driver.getKeyValueStore[Bytes, Array[Byte]](TransactionTopology.SeenIdsStore)
    def publishedTotals = {
      driver.advanceWallClockTime(TransactionTopology.DefaultPublishInterval)
      totals.readRecordsToList().asScala.toVector
    }
  }

  private def withDriver(retention: Duration)(body: Fixture => Unit): Unit = {
    val lines = mutable.ArrayBuffer.empty[String]
    val counters = new Counters
    val props = new Properties()
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "txpipe-dedupe-test")
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9")
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, Options.ExactlyOnceV2)
    TempDirs.withTempDir("txpipe-dedupe") { dir =>
      props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString)
      val topology =
        TransactionTopology.createTopology(
          Topic,
          "txpipe-test",
          registry,
          1,
          line => lines += new String(line, UTF_8),
          retention,
          counters)
      val driver = new TopologyTestDriver(topology, props)
      try body(new Fixture(driver, lines, counters))
      finally driver.close()
    }
  }

  test("a re-sent input counts each transaction once; duplicates are counted, not logged as totals") {
    withDriver(Duration.ofDays(7)) { f =>
      val batch = Seq(("ACC-1", 10.10, "a"), ("ACC-2", 5.0, "b"), ("ACC-1", 0.2, "c"), ("ACC-2", -1.5, "d"))
      batch.take(3).foreach { case (acc, amt, id) => f.send(acc, amt, id) } // a producer that crashed after 3
      batch.foreach { case (acc, amt, id) => f.send(acc, amt, id) } // ... and was run again on all of it
      batch.foreach { case (acc, amt, id) => f.send(acc, amt, id) } // ... and once more
      assert(f.lines.toVector == Vector("(ACC-1, 10.10)", "(ACC-2, 5.00)", "(ACC-1, 10.30)", "(ACC-2, 3.50)"))
      assert(f.counters.duplicates.get == 7 && f.counters.counted.get == 4)
      val latest = f.publishedTotals.map(r => new String(r.key, UTF_8) -> AccountTotal.parseFrom(r.value)).toMap
      assert(latest("ACC-1").total == "10.30" && latest("ACC-1").transactionCount == 2)
      assert(latest("ACC-2").total == "3.50" && latest("ACC-2").transactionCount == 2)
      assert(f.dlq.isEmpty)
    }
  }

  test("a copy with different content is a conflict: dead-lettered naming the first copy, total unchanged") {
    withDriver(Duration.ofDays(7)) { f =>
      f.send("ACC-1", 10.0, "x")
      f.send("ACC-1", 0.01, "x") // same id, another amount: a correction or a forgery, not ours to choose
      f.send("ACC-1", 10.0, "x") // the first content again: an ordinary duplicate
      assert(f.lines.toVector == Vector("(ACC-1, 10.00)"))
      assert(f.counters.duplicates.get == 1 && f.counters.counted.get == 1 && f.counters.rejected.get == 1)
      val dead = f.dlq.readRecordsToList().asScala.toVector
      assert(dead.size == 1)
      val reason = new String(dead.head.headers.lastHeader(DlqHeaders.Reason).value, UTF_8)
      assert(
        reason.startsWith("conflicting duplicate: transaction_id 'x' of account 'ACC-1' was counted from partition 0 offset 0 of transactions at "),
        reason)
      assert(reason.endsWith("with different content; this copy was not counted"))
      assert(new String(dead.head.headers.lastHeader(DlqHeaders.SourceOffset).value, UTF_8) == "1")
      val latest = f.publishedTotals.map(r => AccountTotal.parseFrom(r.value)).last
      assert(latest.total == "10.00" && latest.transactionCount == 1)
    }
  }

  test("copies that differ only in encoding (a default written out, an unknown field) are the same content") {
    withDriver(Duration.ofDays(7)) { f =>
      val payload = TestFrames.transaction("ACC-1", 10.0, "x").withTransactionReference("").toByteArray
      def sendPayload(bytes: Array[Byte]): Unit = f.input.pipeInput("ACC-1".getBytes(UTF_8), TestFrames.frame(1, bytes))
      sendPayload(payload)
      sendPayload(payload ++ Array[Byte](0x1a, 0x00)) // transaction_reference = "" written out
      sendPayload(payload ++ Array[Byte](0x98.toByte, 0x06, 0x01)) // field 99, unknown to the schema
      sendPayload(TestFrames.transaction("ACC-1", 10.01, "x").withTransactionReference("").toByteArray ++ Array[Byte](0x1a, 0x00))
      assert(f.lines.toVector == Vector("(ACC-1, 10.00)"))
      assert(f.counters.duplicates.get == 2 && f.counters.rejected.get == 1)
    }
  }

  test("a mark from before digests (a time alone) takes any copy of its id for a duplicate") {
    val old = SeenMark.decode(SeenIdStore.encodeTime(1234L))
    assert(old.firstSeenMs == 1234L && old.digest.isEmpty && old.sameContent(new Array[Byte](SeenMark.DigestBytes)))
    val mark = SeenMark.decode(SeenMark.encode(99L, Array.fill(16)(7.toByte), 3, 42L))
    assert(mark.firstSeenMs == 99L && mark.partition == 3 && mark.offset == 42L)
    assert(mark.sameContent(Array.fill(16)(7.toByte)) && !mark.sameContent(Array.fill(16)(8.toByte)))
  }

  test("the same transaction_id under another account is a different transaction") {
    withDriver(Duration.ofDays(7)) { f =>
      f.send("ACC-1", 1.0, "x")
      f.send("ACC-2", 2.0, "x")
      assert(f.lines.toVector == Vector("(ACC-1, 1.00)", "(ACC-2, 2.00)"))
      assert(f.counters.duplicates.get == 0)
    }
  }

  test("the seen-ids store is changelogged like the totals: each new id with its first-seen time") {
    withDriver(Duration.ofDays(7)) { f =>
      val start = System.currentTimeMillis()
      f.send("ACC-1", 1.0, "x")
      f.send("ACC-2", 2.0, "y")
      f.send("ACC-1", 1.0, "x") // a duplicate: nothing new to log
      val produced = f.driver.producedTopicNames().asScala
      assert(produced.contains(TransactionTopology.changelogTopic("txpipe-dedupe-test", TransactionTopology.TotalsStore)))
      val changelog = f.driver.createOutputTopic(
        TransactionTopology.changelogTopic("txpipe-dedupe-test", TransactionTopology.SeenIdsStore),
        new ByteArrayDeserializer,
        new ByteArrayDeserializer)
      val logged = changelog.readRecordsToList().asScala.toVector
      assert(logged.map(r => Bytes.wrap(r.key)) ==
        Vector(TotalsProcessor.seenKey("ACC-1", "x"), TotalsProcessor.seenKey("ACC-2", "y")))
      assert(logged.forall(r => math.abs(SeenMark.decode(r.value).firstSeenMs - start) < 60000))
      assert(logged.map(r => SeenMark.decode(r.value).offset) == Vector(0L, 1L))
      assert(logged.forall(r => SeenMark.decode(r.value).digest.exists(_.length == SeenMark.DigestBytes)))
    }
  }

  test("ids are forgotten after the retention: a copy within it is dropped, one after it is counted") {
    withDriver(Duration.ofHours(1)) { f =>
      f.send("ACC-1", 1.0, "x")
      f.driver.advanceWallClockTime(Duration.ofMinutes(30))
      f.send("ACC-1", 1.0, "x") // within the retention: dropped
      assert(f.lines.toVector == Vector("(ACC-1, 1.00)"))
      f.driver.advanceWallClockTime(Duration.ofMinutes(31))
      f.send("ACC-1", 1.0, "x") // past the retention: a new transaction as far as the consumer can tell
      assert(f.lines.toVector == Vector("(ACC-1, 1.00)", "(ACC-1, 2.00)"))
      assert(f.counters.duplicates.get == 1)
    }
  }

  test("the store forgets whole segments once they are past the retention") {
    withDriver(Duration.ofHours(1)) { f =>
      for (i <- 1 to 50) f.send("ACC-1", 1.0, s"old-$i")
      assert(f.seenStore.get(TotalsProcessor.seenKey("ACC-1", "old-1")) != null)
      // Two retentions later a new id opens a new segment, and the old one goes whole.
      f.driver.advanceWallClockTime(Duration.ofHours(2))
      f.send("ACC-1", 1.0, "new")
      assert(f.seenStore.get(TotalsProcessor.seenKey("ACC-1", "old-1")) == null)
      assert(f.seenStore.get(TotalsProcessor.seenKey("ACC-1", "new")) != null)
      assert(f.counters.expiredIds.get == 50)
      assert(f.lines.size == 51)
    }
  }

  test("a transaction without an id cannot be counted once, so it goes to the DLQ") {
    withDriver(Duration.ofDays(7)) { f =>
      f.send("ACC-1", 1.0, "")
      f.send("ACC-1", 1.0, "")
      assert(f.lines.isEmpty)
      val dead = f.dlq.readRecordsToList().asScala
      assert(dead.size == 2)
      assert(dead.forall(r => new String(r.headers.lastHeader(DlqHeaders.Reason).value, UTF_8) == "transaction_id is empty"))
      assert(f.counters.rejected.get == 2)
    }
  }

  test("seen keys of time-ordered ids sort in id order, whatever the accounts") {
    val ids = Seq("019b76da-aa42-7414", "019b76da-ad01-735b", "019b76da-ae6b-7c46")
    val keys = ids.zip(Seq("ACC-0020", "ACC-0001", "ACC-0007")).map { case (id, account) => TotalsProcessor.seenKey(account, id) }
    // RocksDB's default order: bytes compared unsigned.
    val bytes = keys.map(_.get)
    assert(bytes.zip(bytes.tail).forall { case (a, b) => java.util.Arrays.compareUnsigned(a, b) < 0 })
    assert(TotalsProcessor.seenKey("ACC-1", "x") != TotalsProcessor.seenKey("ACC-2", "x"))
  }

  test("retention parsing and segment width") {
    assert(Options.parseDuration("7d").contains(Duration.ofDays(7)))
    assert(Options.parseDuration("12h").contains(Duration.ofHours(12)))
    assert(Options.parseDuration("PT30M").contains(Duration.ofMinutes(30)))
    assert(Options.parseDuration("0s").isEmpty && Options.parseDuration("soon").isEmpty)
    assert(SeenIdStore.segmentMs(Duration.ofDays(7)) == Duration.ofHours(84).toMillis)
    assert(SeenIdStore.segmentMs(Duration.ofSeconds(1)) == 1000L)
    val required = Seq("-b", "k:1", "-s", "http://r", "-t", "t", "-g", "g")
    assert(Options.parse(required).toOption.get.dedupeRetention == Duration.ofDays(7))
    assert(Options.parse(required ++ Seq("--dedupe-retention", "2h")).toOption.get.dedupeRetention == Duration.ofHours(2))
    assert(Options.parse(required ++ Seq("--dedupe-retention", "-1d")) == Left(2))
  }
}

class ConfigFlagSpec extends AnyFunSuite {
  test("-X KEY=VALUE settings reach the Streams config, last") {
    val required = Seq("-b", "k:1", "-s", "http://r", "-t", "t", "-g", "g")
    val o = Options.parse(required ++ Seq("-X", "session.timeout.ms=6000", "--config", "processing.guarantee=at_least_once"))
      .toOption.get
    val c = Main.streamsConfig(o, 6)
    assert(c.get("session.timeout.ms") == "6000" && c.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG) == "at_least_once")
    assert(Options.parse(required ++ Seq("-X", "nokey")) == Left(2))
  }
}
