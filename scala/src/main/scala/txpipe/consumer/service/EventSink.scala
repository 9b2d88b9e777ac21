package txpipe.consumer.service

/** One subscriber of the live events: takes an event without blocking, or says it cannot. */
trait EventSink {

  /** Queues `event` for sending; false when the subscriber's queue is full (it is too slow). */
  def offer(event: String): Boolean

  /** Ends the subscription (closing its connection). */
  def close(): Unit
}
