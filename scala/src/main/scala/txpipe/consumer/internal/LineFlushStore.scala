package txpipe.consumer.internal

import java.util.{Collections, Map => JMap}

import org.apache.kafka.streams.processor.{StateStore, StateStoreContext}
import org.apache.kafka.streams.state.StoreBuilder
import txpipe.consumer.LineSink

/** A store that holds nothing: Kafka Streams flushes every store of a task before it commits the
  * task's offsets, so flushing the line sink here means no line of a committed record is still
  * in a buffer when the process dies (the lines are buffered for speed).
  */
final class LineFlushStore(storeName: String, sink: LineSink) extends StateStore {
  @volatile private var open = false

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
