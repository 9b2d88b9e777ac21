package txpipe.consumer.totals

import java.math.BigDecimal

import org.apache.kafka.streams.state.KeyValueStore
import org.scalatest.funsuite.AnyFunSuite
import txpipe.v1.AccountTotal

class RunningTotalsSpec extends AnyFunSuite {

  private def withStore(body: KeyValueStore[String, Array[Byte]] => Unit): Unit =
    TotalsStores.withStore((_, store) => body(store))

  private def stored(account: String, total: String, count: Long): Array[Byte] =
    AccountTotal(accountNumber = account, total = total, transactionCount = count).toByteArray

  private def sum(total: String, count: Long) = RunningTotals.Sum(new BigDecimal(total), count)

  test("an account's sum comes from the store once, then from memory, always as last written") {
    withStore { store =>
      store.put("A", stored("A", "10.50", 3))
      val running = new RunningTotals(store)
      assert(running.current("A") == sum("10.50", 3))
      assert(running.current("B") == RunningTotals.Empty)
      val next = running.current("A").plus(new BigDecimal("0.25"))
      running.put("A", next, stored("A", "10.75", 4))
      assert(next == sum("10.75", 4))
      assert(AccountTotal.parseFrom(store.get("A")).total == "10.75", "the store is written at once")
      assert(RunningTotals.Empty.plus(new BigDecimal("2")) == sum("2", 1))
    }
  }

  test("after clear, or past its capacity, it reads the store again: a store rolled back is never contradicted") {
    withStore { store =>
      val running = new RunningTotals(store, capacity = 2)
      running.put("A", sum("5.00", 1), stored("A", "5.00", 1))
      // A rollback to an earlier state, as an aborted transaction leaves it.
      store.put("A", stored("A", "1.00", 1))
      running.clear()
      assert(running.current("A") == sum("1.00", 1))
      running.put("B", sum("2.00", 1), stored("B", "2.00", 1))
      running.put("C", sum("3.00", 1), stored("C", "3.00", 1))
      running.put("D", sum("4.00", 1), stored("D", "4.00", 1)) // B is the least recently used: dropped
      store.put("B", stored("B", "7.00", 2))
      assert(running.current("B") == sum("7.00", 2))
      assert(running.current("D") == sum("4.00", 1))
    }
  }
}
