package txpipe.consumer.lifecycle

import java.time.Duration

import scala.collection.mutable

import org.apache.kafka.common.errors.{
  InvalidProducerEpochException,
  InvalidTxnStateException,
  ProducerFencedException,
  TimeoutException,
  UnknownProducerIdException
}

/** Decides whether a failed stream thread is replaced or the application stops.
  *
  * Around a broker failover a commit can fail on the transaction itself (seen here after the
  * third leader kill of a three-node cluster: InvalidTxnStateException from commitTransaction,
  * which Kafka Streams treats as fatal). A replacement thread starts a new producer; the failed
  * transaction is aborted, so none of its records or offsets count, and the thread's tasks go
  * on from the last commit. Any other failure, or more than `maxReplacements` within `window`,
  * stops the application: retrying a bug forever would hide it.
  */
final class ThreadReplacement(maxReplacements: Int, window: Duration, nanoTime: () => Long = () => System.nanoTime()) {

  private val recent = mutable.Queue.empty[Long]

  /** True if `failure` was a transaction error and the budget allows one more replacement now. */
  def replace(failure: Throwable): Boolean = synchronized {
    if (!ThreadReplacement.transactionError(failure)) false
    else {
      val now = nanoTime()
      while (recent.nonEmpty && now - recent.head > window.toNanos) recent.dequeue()
      if (recent.size >= maxReplacements) false
      else {
        recent.enqueue(now)
        true
      }
    }
  }
}

/** Which failures a new stream thread can recover from. */
object ThreadReplacement {

  /** True if `failure` or one of its causes is an error of the thread's transactional producer. */
  def transactionError(failure: Throwable): Boolean =
    Iterator.iterate(failure)(_.getCause).takeWhile(_ != null).take(20).exists {
      case _: InvalidTxnStateException | _: InvalidProducerEpochException | _: ProducerFencedException |
          _: UnknownProducerIdException | _: TimeoutException => true
      case _ => false
    }
}
