package txpipe.consumer

import java.math.BigDecimal
import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.Files
import java.util.Properties

import scala.collection.mutable
import scala.jdk.CollectionConverters._
import scala.util.Random

import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.common.serialization.{ByteArrayDeserializer, ByteArraySerializer}
import org.apache.kafka.streams.test.TestRecord
import org.apache.kafka.streams.{StreamsConfig, TopologyDescription, TopologyTestDriver}
import org.scalatest.funsuite.AnyFunSuite
import txpipe.consumer.decoding.TransactionDecoder
import txpipe.consumer.output.DlqHeaders
import txpipe.consumer.routing.{AccountPlacement, Origin}
import txpipe.v1.AccountTotal
import txpipe.consumer.registry.RegisteredSchema
import txpipe.consumer.totals.Amounts

class TransactionTopologySpec extends AnyFunSuite {

  private val Topic = "transactions"
  private val TxSchema = 1
  private val TotalSchema = 2
  private val NestedSchema = 3

  private val registry = new InMemorySchemaRegistry(Map(
    TxSchema -> RegisteredSchema("PROTOBUF", TestFrames.TransactionProtoText),
    TotalSchema -> RegisteredSchema(
      "PROTOBUF",
      new String(Files.readAllBytes(ProjectPaths.repoRoot.resolve("proto/account_total.proto")), UTF_8)),
    NestedSchema -> RegisteredSchema(
      "PROTOBUF",
      "syntax = \"proto3\"; package txpipe.v1; message Wrapper { message Transaction {} } message Transaction { string transaction_id = 1; string account_number = 2; string transaction_reference = 3; double amount = 5; }"
    )
  ))

  private final class Fixture(val driver: TopologyTestDriver, val lines: mutable.Buffer[String]) {
    val input = driver.createInputTopic(Topic, new ByteArraySerializer, new ByteArraySerializer)
    val totals =
      driver.createOutputTopic(TransactionTopology.totalsTopic(Topic), new ByteArrayDeserializer, new ByteArrayDeserializer)
    val dlq = driver.createOutputTopic(TransactionTopology.dlqTopic(Topic), new ByteArrayDeserializer, new ByteArrayDeserializer)
  }

  private def withDriver(guarantee: String, partitions: Int = 1)(body: Fixture => Unit): Unit = {
    val lines = mutable.ArrayBuffer.empty[String]
    val props = new Properties()
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "txpipe-test")
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9")
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee)
    TempDirs.withTempDir("txpipe-test") { dir =>
      props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString)
      val topology =
        TransactionTopology.createTopology(
          Topic,
          "txpipe-test",
          registry,
          partitions,
          line => lines.synchronized(lines += new String(line, UTF_8)))
      val driver = new TopologyTestDriver(topology, props)
      try body(new Fixture(driver, lines))
      finally driver.close()
    }
  }

  private def valid(
      account: String,
      amount: Double,
      id: String,
      schema: Int = TxSchema,
      indexes: Seq[Int] = Seq(0)): Array[Byte] =
    TestFrames.frame(schema, TestFrames.transaction(account, amount, id).toByteArray, indexes)

  private def header(r: TestRecord[Array[Byte], Array[Byte]], name: String): String =
    Option(r.headers.lastHeader(name)).map(h => new String(h.value, UTF_8)).orNull

  test("totals equal an exact decimal ground truth, whatever the key; bad records go to the DLQ unchanged") {
    withDriver(Options.ExactlyOnceV2) { f =>
      val rnd = new Random(7)
      val accounts = (0 until 12).map(i => f"ACC-$i%04d")
      val truth = mutable.LinkedHashMap.empty[String, BigDecimal]
      val counts = mutable.Map.empty[String, Long].withDefaultValue(0L)
      val expectedLines = mutable.ArrayBuffer.empty[String]
      val badValues = Vector(
        "null value" -> null,
        "too short" -> Array[Byte](0, 0, 0, 1),
        "bad magic" -> { val v = valid("ACC-0001", 1.0, "m"); v(0) = 1; v },
        "unknown schema id" -> valid("ACC-0001", 1.0, "u", schema = 99),
        "index past the schema" -> valid("ACC-0001", 1.0, "i", indexes = Seq(1)),
        "wrong message" -> valid("ACC-0001", 1.0, "w", schema = TotalSchema),
        "nested message of the same name" -> valid("ACC-0001", 1.0, "n", schema = NestedSchema, indexes = Seq(0, 0)),
        "truncated protobuf" -> valid("ACC-0001", 1.0, "t").dropRight(3),
        "NaN" -> valid("ACC-0001", Double.NaN, "nan"),
        "+inf" -> valid("ACC-0001", Double.PositiveInfinity, "inf"),
        "-inf" -> valid("ACC-0001", Double.NegativeInfinity, "-inf"),
        "empty account" -> valid("", 1.0, "e"),
        "bad varint" -> Array[Byte](0, 0, 0, 0, 1, 0xff.toByte)
      )
      val sent = mutable.ArrayBuffer.empty[(Long, String, Array[Byte], Array[Byte])] // offset, why, key, value
      var offset = 0L
      for (i <- 0 until 600) {
        if (i % 25 == 7) {
          val (why, value) = badValues((i / 25) % badValues.length)
          val headers = new RecordHeaders().add("trace", s"t-$i".getBytes(UTF_8))
          val key = if (i % 2 == 0) null else s"key-$i".getBytes(UTF_8)
          f.input.pipeInput(new TestRecord(key, value, headers))
          sent += ((offset, why, key, value))
        } else if (i % 50 == 13) {
          // Keyed for another account: the account is read from the value, so it counts all the same.
          val value = valid("ACC-0002", 5.0, s"k$i")
          f.input.pipeInput(new TestRecord("ACC-0003".getBytes(UTF_8), value, new RecordHeaders()))
          val sum = truth.getOrElse("ACC-0002", BigDecimal.ZERO).add(new BigDecimal("5"))
          truth("ACC-0002") = sum
          counts("ACC-0002") += 1
          expectedLines += s"(ACC-0002, ${sum.setScale(math.max(sum.scale, 2)).toPlainString})"
        } else {
          val account = accounts(rnd.nextInt(accounts.length))
          // Amounts come from exact cents so the ground truth never touches a double.
          val cents = rnd.nextLong(2000000L) - 400000L
          val exact = BigDecimal.valueOf(cents, 2)
          val amount = if (i % 97 == 0) 0.1 else exact.doubleValue
          val exactAmount = if (i % 97 == 0) new BigDecimal("0.1") else exact
          val key = if (i % 3 == 0) null else account.getBytes(UTF_8)
          val value = valid(account, amount, s"tx-$i")
          f.input.pipeInput(new TestRecord(key, value, new RecordHeaders()))
          val sum = truth.getOrElse(account, BigDecimal.ZERO).add(exactAmount)
          truth(account) = sum
          counts(account) += 1
          expectedLines += s"($account, ${sum.setScale(math.max(sum.scale, 2)).toPlainString})"
        }
        offset += 1
      }

      // stdout lines, in order, one per counted record
      assert(f.lines.toVector == expectedLines.toVector)
      assert(f.lines.forall(_.matches("""\(ACC-\d{4}, -?\d+\.\d{2,}\)""")))

      // totals topic: nothing until the next publication, then each account's latest total once
      assert(f.totals.isEmpty)
      f.driver.advanceWallClockTime(TransactionTopology.DefaultPublishInterval)
      val totals = f.totals.readRecordsToList().asScala.toVector
      assert(totals.size == truth.size)
      val latest = totals.map(r => new String(r.key, UTF_8) -> AccountTotal.parseFrom(r.value)).toMap
      assert(latest.keySet == truth.keySet)
      for ((account, sum) <- truth) {
        val t = latest(account)
        assert(t.accountNumber == account)
        assert(new BigDecimal(t.total).compareTo(sum) == 0, s"$account: ${t.total} != $sum")
        assert(t.total == Amounts.format(sum))
        assert(t.transactionCount == counts(account))
        assert(t.lastTransactionDatetime.exists(_.seconds == 1767225600L))
      }
      assert(totals.forall(_.headers.toArray.isEmpty))

      // the state store agrees, holding the very bytes sent to the totals topic
      val store = f.driver.getKeyValueStore[String, Array[Byte]](TransactionTopology.TotalsStore)
      for ((account, sum) <- truth) assert(new BigDecimal(AccountTotal.parseFrom(store.get(account)).total).compareTo(sum) == 0)
      for ((account, t) <- latest) assert(AccountTotal.parseFrom(store.get(account)) == t)

      // DLQ: every bad record exactly once, bytes unchanged, headers kept plus the four dlq.* ones
      val dead = f.dlq.readRecordsToList().asScala.toVector
      assert(dead.size == sent.size)
      for (((off, why, key, value), r) <- sent.zip(dead)) withClue(s"$why at offset $off: ") {
        assert((r.key == null && key == null) || java.util.Arrays.equals(r.key, key))
        assert((r.value == null && value == null) || java.util.Arrays.equals(r.value, value))
        assert(header(r, DlqHeaders.SourceTopic) == Topic)
        assert(header(r, DlqHeaders.SourcePartition) == "0")
        assert(header(r, DlqHeaders.SourceOffset) == off.toString)
        assert(Option(header(r, DlqHeaders.Reason)).exists(_.nonEmpty))
        assert(header(r, "trace") != null)
        assert(r.headers.toArray.map(_.key).toSeq.takeRight(4) ==
          Seq(DlqHeaders.Reason, DlqHeaders.SourceTopic, DlqHeaders.SourcePartition, DlqHeaders.SourceOffset))
      }
      val reasons = dead.map(header(_, DlqHeaders.Reason))
      assert(reasons.exists(_.contains("magic byte")))
      assert(reasons.exists(_.contains("unknown to the registry")))
      assert(reasons.exists(_.contains("txpipe.v1.AccountTotal, not txpipe.v1.Transaction")))
      assert(reasons.exists(_.contains("txpipe.v1.Wrapper.Transaction")))
      assert(reasons.exists(_ == "amount is NaN"))
      assert(reasons.exists(_ == "account_number is empty"))
      assert(reasons.exists(_.startsWith("protobuf payload does not parse")))
    }
  }

  test("one sub-topology reads the input and the by-account topic and writes totals, dead letters and moved records") {
    val byAccount = TransactionTopology.byAccountTopic("txpipe-test")
    val description = TransactionTopology.createTopology(Topic, "txpipe-test", registry, 6, _ => ()).describe()
    val subtopologies = description.subtopologies().asScala.toSeq
    assert(subtopologies.size == 1, description.toString)
    val nodes = subtopologies.head.nodes().asScala.toSeq
    assert(nodes.collect { case s: TopologyDescription.Source => s.topicSet().asScala }.flatten.toSet == Set(Topic, byAccount))
    assert(nodes.collect { case s: TopologyDescription.Sink => s.topic() }.toSet ==
      Set(TransactionTopology.totalsTopic(Topic), TransactionTopology.dlqTopic(Topic), byAccount))
    assert(nodes.collect { case p: TopologyDescription.Processor => p.stores().asScala }.flatten.toSet ==
      Set(TransactionTopology.TotalsStore, TransactionTopology.SeenIdsStore))
  }

  test("a transaction off its account's partition, unkeyed or keyed otherwise, is moved to its owner and counted") {
    // The driver reads everything from partition 0; of 4 partitions, murmur2 puts some accounts elsewhere.
    val accounts = (0 until 40).map(i => f"ACC-$i%04d")
    val (home, away) = accounts.partition(a => AccountPlacement.owner(a, 4) == 0)
    assert(home.nonEmpty && away.size >= 3)
    withDriver(Options.ExactlyOnceV2, partitions = 4) { f =>
      val moved = f.driver.createOutputTopic(
        TransactionTopology.byAccountTopic("txpipe-test"),
        new ByteArrayDeserializer,
        new ByteArrayDeserializer)
      f.input.pipeInput(home.head.getBytes(UTF_8), valid(home.head, 2.5, "h"))
      f.input.pipeInput(away(0).getBytes(UTF_8), valid(away(0), 7.0, "a"))
      f.input.pipeInput(null, valid(away(1), 1.25, "n"))
      f.input.pipeInput("someone-else".getBytes(UTF_8), valid(away(2), 3.0, "k"))
      f.input.pipeInput(null, valid(home.head, 0.5, "h2"))
      assert(f.lines.toVector.sorted == Vector(
        s"(${home.head}, 2.50)",
        s"(${away(0)}, 7.00)",
        s"(${away(1)}, 1.25)",
        s"(${away(2)}, 3.00)",
        s"(${home.head}, 3.00)").sorted)
      assert(f.dlq.isEmpty)
      // Only the three that were away made the trip, keyed by account, carrying their input coordinates.
      val trips = moved.readRecordsToList().asScala.toVector
      assert(trips.map(r => new String(r.key, UTF_8)) == Vector(away(0), away(1), away(2)))
      assert(trips.map(r => header(r, Origin.Offset)) == Vector("1", "2", "3"))
      assert(trips.forall(r => header(r, Origin.Topic) == Topic && header(r, Origin.Partition) == "0"))
    }
  }

  test("the by-account partitioner is the Java producer's murmur2 of the account") {
    import org.apache.kafka.clients.producer.internals.BuiltInPartitioner
    for (a <- Seq("ACC-0001", "ACC-0042", "x", "\u03a9-account"); n <- Seq(1, 3, 6, 50)) {
      val key = a.getBytes(UTF_8)
      assert(AccountPlacement.owner(a, n) == BuiltInPartitioner.partitionForKey(key, n), s"$a over $n")
      assert(AccountPlacement.partitioner.partitions("t", key, Array.emptyByteArray, n).get ==
        java.util.Set.of(Int.box(AccountPlacement.owner(a, n))))
    }
  }

  test("an account that could forge a line goes to the DLQ; ids are escaped in logs") {
    withDriver(Options.ExactlyOnceV2) { f =>
      for ((account, i) <- Seq("X, 1.00)\n(ACC-0001, 9999999.00", "A\rB", "A\u2028B", "A\u202eB", "A\u0000B").zipWithIndex)
        f.input.pipeInput(null, valid(account, 5.0, s"f$i"))
      f.input.pipeInput(null, valid("ACC-0001", 5.0, "ok"))
      assert(f.lines.toVector == Vector("(ACC-0001, 5.00)"))
      val reasons = f.dlq.readRecordsToList().asScala.toVector.map(r => header(r, DlqHeaders.Reason))
      assert(reasons.size == 5)
      assert(reasons.forall(_.endsWith("holds a control character or line separator")), reasons)
      assert(reasons.head == "account_number 'X, 1.00)?(ACC-0001, 9999999.00' holds a control character or line separator")
    }
  }

  test("a transaction without an amount goes to the DLQ and does not keep its corrected copy from counting") {
    withDriver(Options.ExactlyOnceV2) { f =>
      // proto3 leaves 0.0 out of the bytes: what a producer that stopped setting the amount sends.
      f.input.pipeInput(null, valid("ACC-0001", 0.0, "t-1"))
      f.input.pipeInput(null, valid("ACC-0001", 12.5, "t-1"))
      assert(f.lines.toVector == Vector("(ACC-0001, 12.50)"))
      val reasons = f.dlq.readRecordsToList().asScala.toVector.map(r => header(r, DlqHeaders.Reason))
      assert(reasons == Vector(TransactionDecoder.MissingAmount))
    }
  }

  test("each line is out of the processor before the record's processing ends, so before any commit") {
    val props = new Properties()
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "txpipe-line-test")
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9")
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, Options.ExactlyOnceV2)
    val lines = mutable.ArrayBuffer.empty[String]
    TempDirs.withTempDir("txpipe-lines") { dir =>
      props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString)
      val driver =
        new TopologyTestDriver(
          TransactionTopology.createTopology(Topic, "txpipe-test", registry, 1, line => lines += new String(line, UTF_8)),
          props)
      try {
        val input = driver.createInputTopic(Topic, new ByteArraySerializer, new ByteArraySerializer)
        for (i <- 1 to 3) {
          input.pipeInput("ACC-0009".getBytes(UTF_8), valid("ACC-0009", 1.0, s"f$i"))
          // The driver commits after each record: the sink already holds its line.
          assert(lines.size == i)
        }
      } finally driver.close()
    }
  }

  test("at_least_once runs the same topology") {
    withDriver(Options.AtLeastOnce) { f =>
      for ((amount, i) <- Seq(0.1, 0.2, 0.3, 1523.4, -3.0).zipWithIndex)
        f.input.pipeInput("ACC-0007".getBytes(UTF_8), valid("ACC-0007", amount, s"t$i"))
      assert(f.lines.toVector == Vector(
        "(ACC-0007, 0.10)", "(ACC-0007, 0.30)", "(ACC-0007, 0.60)", "(ACC-0007, 1524.00)", "(ACC-0007, 1521.00)"))
      assert(f.dlq.isEmpty)
    }
  }
}
