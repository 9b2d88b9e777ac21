package txpipe.consumer.totals

import java.util.Properties

import org.apache.kafka.common.serialization.Serdes
import org.apache.kafka.streams.processor.TaskId
import org.apache.kafka.streams.processor.api.MockProcessorContext
import org.apache.kafka.streams.state.{KeyValueStore, Stores}
import txpipe.consumer.TempDirs

/** An in-memory totals store, not changelogged, on Kafka Streams' own mock context: what the totals specs run against. */
object TotalsStores {

  /** Runs `body` with a mock processor context and an initialised, empty store; closes the store after. */
  def withStore(body: (MockProcessorContext[AnyRef, AnyRef], KeyValueStore[String, Array[Byte]]) => Unit): Unit =
    TempDirs.withTempDir("totals-store") { dir =>
      val context = new MockProcessorContext[AnyRef, AnyRef](new Properties(), new TaskId(0, 0), dir.toFile)
      val store = Stores
        .keyValueStoreBuilder(Stores.inMemoryKeyValueStore("totals"), Serdes.String(), Serdes.ByteArray())
        .withLoggingDisabled()
        .build()
      store.init(context.getStateStoreContext, store)
      try body(context, store)
      finally store.close()
    }
}
