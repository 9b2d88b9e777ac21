package txpipe.consumer.internal

import java.util.{Collections, Map => JMap}

import org.apache.kafka.streams.processor.{StateStore, StateStoreContext}
import org.apache.kafka.streams.state.StoreBuilder
import org.apache.kafka.streams.state.internals.{CacheFlushListener, CachedStateStore}
import txpipe.consumer.LineSink

/** A store that holds nothing, there to flush the buffered lines before every commit, so that no
  * line of a committed record can still be in a buffer when the process dies.
  *
  * Before committing a task, Kafka Streams (4.2) flushes the caches of its stores, calling
  * flushCache() on every store that is a CachedStateStore; StateStore.flush() itself runs only
  * when the task writes a checkpoint. CachedStateStore is internal to Streams, hence this note:
  * the fault tests (consumer killed with -9 while lines flow) check no logged total goes missing.
  */
final class LineFlushStore(storeName: String, sink: LineSink) extends StateStore with CachedStateStore[Array[Byte], Array[Byte]] {
  @volatile private var open = false

  /** Called by Streams before each commit: flushes the caches of the thread's tasks (at the first
    * task's turn, see ThreadCommitGroup), then writes out the buffered lines. */
  override def flushCache(): Unit = {
    ThreadCommitGroup.current.flushAll()
    sink.flush()
  }
  override def clearCache(): Unit = ()
  override def setFlushListener(listener: CacheFlushListener[Array[Byte], Array[Byte]], sendOldValues: Boolean): Boolean = false

  override def name(): String = storeName
  override def init(context: StateStoreContext, root: StateStore): Unit = {
    context.register(root, (_: Array[Byte], _: Array[Byte]) => ())
    open = true
  }
  override def flush(): Unit = sink.flush()
  override def close(): Unit = { sink.flush(); open = false }
  override def persistent(): Boolean = false
  override def isOpen: Boolean = open
}

/** Builds a LineFlushStore per task; it has no changelog and no cache. */
final class LineFlushStoreBuilder(storeName: String, sink: LineSink) extends StoreBuilder[LineFlushStore] {
  override def withCachingEnabled(): StoreBuilder[LineFlushStore] = this
  override def withCachingDisabled(): StoreBuilder[LineFlushStore] = this
  override def withLoggingEnabled(config: JMap[String, String]): StoreBuilder[LineFlushStore] = this
  override def withLoggingDisabled(): StoreBuilder[LineFlushStore] = this
  override def build(): LineFlushStore = new LineFlushStore(storeName, sink)
  override def logConfig(): JMap[String, String] = Collections.emptyMap()
  override def loggingEnabled(): Boolean = false
  override def name(): String = storeName
}
