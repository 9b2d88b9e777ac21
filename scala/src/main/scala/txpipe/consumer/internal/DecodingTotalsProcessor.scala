package txpipe.consumer.internal

import java.time.Duration

import org.apache.kafka.streams.processor.api.{Processor, ProcessorContext, Record}
import txpipe.consumer.{Counters, LineSink}
import txpipe.v1.AccountTotal

/** Decoding and totalling in one step, for input already partitioned by account.
  *
  * The same work as DecodeProcessor followed by TotalsProcessor, without the filter and
  * mapping nodes between them: each node a record passes through costs Kafka Streams a record
  * copy and its per-node bookkeeping. A good record's new total goes to `totalsChild`, a bad
  * record to `dlqChild` with the dlq.* headers.
  */
final class DecodingTotalsProcessor(
    decoder: TransactionDecoder,
    totalsStore: String,
    seenStore: String,
    lineSink: LineSink,
    retention: Duration,
    counters: Counters,
    totalsChild: String,
    dlqChild: String
) extends Processor[Array[Byte], Array[Byte], AnyRef, AnyRef] {

  private val totals = new TotalsProcessor[Array[Byte]](totalsStore, lineSink, seenStore, retention, counters, Some(totalsChild))
  private var context: ProcessorContext[AnyRef, AnyRef] = _

  /** Binds both steps to the task's context. */
  override def init(context: ProcessorContext[AnyRef, AnyRef]): Unit = {
    this.context = context
    totals.init(context.asInstanceOf[ProcessorContext[String, AccountTotal]])
  }

  /** Leaves the thread's commit group. */
  override def close(): Unit = totals.close()

  /** Totals a valid transaction; sends anything else to the DLQ unchanged, with the reason in its headers. */
  override def process(record: Record[Array[Byte], Array[Byte]]): Unit = {
    val meta = context.recordMetadata()
    val partition = if (meta.isPresent) meta.get.partition else -1
    decoder.decode(record.key, record.value, partition) match {
      case Right(tx) => totals.add(tx, record.timestamp, record.headers)
      case Left(reason) =>
        val (topic, offset) = if (meta.isPresent) (meta.get.topic, meta.get.offset.toString) else ("unknown", "-1")
        val headers = DecodeProcessor.deadLetter(record.headers, reason, topic, partition.toString, offset, counters)
        context.forward(record.withHeaders(headers).asInstanceOf[Record[AnyRef, AnyRef]], dlqChild)
    }
  }
}
