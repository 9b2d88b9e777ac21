package txpipe.consumer.internal

import org.apache.kafka.common.header.internals.RecordHeaders
import org.apache.kafka.streams.processor.api.{Processor, ProcessorContext, Record}
import org.apache.kafka.streams.state.KeyValueStore
import txpipe.consumer.Amounts
import txpipe.v1.{AccountTotal, Transaction}

/** Adds each transaction, keyed by its account, to that account's exact running total. */
final class TotalsProcessor(storeName: String, lineSink: String => Unit)
    extends Processor[String, Transaction, String, AccountTotal] {

  private var context: ProcessorContext[String, AccountTotal] = _
  private var totals: KeyValueStore[String, AccountTotal] = _

  /** Binds the processor to its task's context and totals store. */
  override def init(context: ProcessorContext[String, AccountTotal]): Unit = {
    this.context = context
    this.totals = context.getStateStore[KeyValueStore[String, AccountTotal]](storeName)
  }

  /** Updates the store, forwards the new AccountTotal and writes the "(account, total)" line. */
  override def process(record: Record[String, Transaction]): Unit = {
    val tx = record.value
    val account = tx.accountNumber
    val previous = totals.get(account)
    val amount = Amounts.fromDouble(tx.amount)
    // The store keeps the formatted text, which parses back to the same exact BigDecimal.
    val (sum, count) =
      if (previous == null) (amount, 1L)
      else (Amounts.parse(previous.total).add(amount), previous.transactionCount + 1)
    val total = Amounts.format(sum)
    val updated = AccountTotal(
      accountNumber = account,
      total = total,
      transactionCount = count,
      lastTransactionId = tx.transactionId,
      lastTransactionDatetime = tx.transactionDatetime
    )
    totals.put(account, updated)
    // Fresh headers: the input's headers describe the transaction, not the running total.
    context.forward(new Record(account, updated, record.timestamp, new RecordHeaders()))
    lineSink(s"($account, $total)")
  }
}
