package txpipe.consumer.lifecycle

import java.time.Duration

import org.apache.kafka.common.errors.{InvalidTxnStateException, SerializationException}
import org.apache.kafka.streams.errors.StreamsException
import org.scalatest.funsuite.AnyFunSuite

class ThreadReplacementSpec extends AnyFunSuite {

  // As Kafka Streams reported it after a broker failover: the transaction error two causes down.
  private def commitFailed = new StreamsException(
    "Error encountered trying to commit a transaction",
    new StreamsException(
      "commit",
      new InvalidTxnStateException("The producer attempted a transactional operation in an invalid state."))
  )

  test("a transaction error anywhere in the cause chain is recoverable; other failures are not") {
    assert(ThreadReplacement.transactionError(commitFailed))
    assert(!ThreadReplacement.transactionError(new StreamsException("bad record", new SerializationException("boom"))))
    assert(!ThreadReplacement.transactionError(new IllegalStateException("bug")))
  }

  test("replaces a thread at most maxReplacements times within the window, then again once it has passed") {
    var now = 0L
    val policy = new ThreadReplacement(2, Duration.ofMinutes(10), () => now)
    assert(policy.replace(commitFailed))
    now += Duration.ofMinutes(1).toNanos
    assert(policy.replace(commitFailed))
    assert(!policy.replace(commitFailed), "a third within ten minutes stops the application")
    now += Duration.ofMinutes(10).toNanos
    assert(policy.replace(commitFailed))
  }

  test("never replaces a thread for a failure that is not a transaction error") {
    val policy = new ThreadReplacement(3, Duration.ofMinutes(10))
    assert(!policy.replace(new IllegalStateException("bug")))
  }
}
