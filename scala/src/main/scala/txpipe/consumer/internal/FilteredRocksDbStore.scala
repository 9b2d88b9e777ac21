package txpipe.consumer.internal

import java.util

import org.apache.kafka.common.serialization.Serializer
import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.KeyValue
import org.apache.kafka.streams.processor.{StateStore, StateStoreContext}
import org.apache.kafka.streams.query.{Position, PositionBound, Query, QueryConfig, QueryResult}
import org.apache.kafka.streams.state.internals.RocksDBStore
import org.apache.kafka.streams.state.KeyValueIterator
import org.rocksdb.{ReadOptions, RocksDB, Snapshot, WriteBatch, WriteBatchInterface}

/** Kafka's RocksDB store, tuned for a set of ids that are nearly all new when looked up.
  *
  *  - A lookup beyond the greatest key the store holds answers "absent" from memory. With
  *    time-ordered ids nearly every new id is such a key, and the lookup never enters RocksDB.
  *  - Other lookups ask RocksDB's bloom filters first. RocksJava's `get` reports a miss by
  *    throwing and catching a C++ exception inside the JNI layer, which was about a quarter of the
  *    lookup's time; `keyMayExist` answers "certainly absent" from the memtable and filter blocks
  *    without it, and without reading from disk. Anything it cannot rule out goes to the normal `get`.
  *  - Puts are buffered and written as one RocksDB batch at the next flush or read that needs them,
  *    instead of one write (through JNI and RocksDB's write path) per id. Like the memtable, which
  *    Kafka runs without a write-ahead log, the buffer is rebuilt from the changelog after a crash.
  *
  * The greatest key is known only while every write goes through this class: a batch written past
  * it (as a restore from the changelog does) makes the next lookup read it again from RocksDB.
  * Kafka keeps its RocksDB handle package-private, so it is read by reflection once per open.
  */
class FilteredRocksDbStore(name: String) extends RocksDBStore(name, FilteredRocksDbStore.MetricsScope) {

  private var rocks: RocksDB = _
  private var ctx: StateStoreContext = _
  // Puts not yet written to RocksDB, in arrival order (the last put of a key wins).
  private val pendingKeys = new util.ArrayList[Bytes]()
  private val pendingValues = new util.ArrayList[Array[Byte]]()
  // The pending puts by key, built by the first lookup that needs it and then kept up to date
  // until they are written. New time-ordered ids never need it, so their puts hash nothing.
  private var pendingIndex: util.HashMap[Bytes, Array[Byte]] = _
  // The input position of the latest put not yet recorded in Kafka's `position`: recording it
  // per put (a concurrent map update and a boxed offset) was 3% of the stream thread.
  private var unrecordedTopic: String = _
  private var unrecordedPartition = 0
  private var unrecordedOffset = 0L
  // An upper bound of every key in RocksDB and among the pending puts, or null when the store is empty;
  // meaningful only while `maxKnown`.
  private var maxKey: Array[Byte] = _
  private var maxKnown = false

  /** Opens the store as Kafka does, then keeps its RocksDB handle for the lookups. */
  override def init(context: StateStoreContext, root: StateStore): Unit = {
    super.init(openingContext(context), root)
    ctx = context
    rocks = FilteredRocksDbStore.handle(this)
    maxKnown = false
  }

  /** The context Kafka's store opens with: `context` itself here; a subclass may adapt what it registers. */
  protected def openingContext(context: StateStoreContext): StateStoreContext = context

  /** Null when the key lies beyond every stored key, else the pending value, else null when the filters rule it out, else Kafka's lookup. */
  override def get(key: Bytes): Array[Byte] = synchronized {
    // `rocks` is set only between a successful init and close, so it doubles as the open check;
    // a closed store goes to Kafka's lookup, which reports it.
    if (rocks == null) return super.get(key)
    if (!maxKnown) readMaxKey()
    val k = key.get
    // maxKey bounds the pending puts too, so a new time-ordered id never looks among them.
    if (maxKey == null || util.Arrays.compareUnsigned(k, maxKey) > 0) return null
    val buffered = pendingLookup(key)
    if (buffered != null) buffered
    else if (!rocks.keyMayExist(k, null)) null
    else super.get(key)
  }

  /** Buffers the put; a null value deletes, as in Kafka's store. (Kafka's putIfAbsent calls this get and this put.) */
  override def put(key: Bytes, value: Array[Byte]): Unit = synchronized {
    if (rocks == null || value == null) {
      writePending()
      super.put(key, value)
    } else {
      pendingKeys.add(key)
      pendingValues.add(value)
      if (pendingIndex != null) pendingIndex.put(key, value)
      raiseMaxKey(key.get)
      // Kafka's store records each write's input offset for interactive queries; so does this
      // one, when the puts are written or the position is asked for.
      noteInputPosition()
      if (pendingKeys.size >= FilteredRocksDbStore.MaxPending) writePending()
    }
  }

  /** Writes the pending puts first, so that Kafka's batch lands after them. */
  override def putAll(entries: util.List[KeyValue[Bytes, Array[Byte]]]): Unit = synchronized {
    writePending()
    super.putAll(entries)
    entries.forEach(kv => raiseMaxKey(kv.key.get))
  }

  /** Writes a batch prepared elsewhere (a restore from the changelog): the greatest key is read again. */
  override def write(batch: WriteBatchInterface): Unit = synchronized {
    writePending()
    super.write(batch)
    maxKnown = false
  }

  override def get(key: Bytes, options: ReadOptions): Array[Byte] = synchronized { writePending(); super.get(key, options) }
  override def delete(key: Bytes): Array[Byte] = synchronized { writePending(); super.delete(key) }
  override def range(from: Bytes, to: Bytes): KeyValueIterator[Bytes, Array[Byte]] = synchronized { writePending(); super.range(from, to) }
  override def reverseRange(from: Bytes, to: Bytes): KeyValueIterator[Bytes, Array[Byte]] = synchronized { writePending(); super.reverseRange(from, to) }
  override def all(): KeyValueIterator[Bytes, Array[Byte]] = synchronized { writePending(); super.all() }
  override def reverseAll(): KeyValueIterator[Bytes, Array[Byte]] = synchronized { writePending(); super.reverseAll() }
  override def prefixScan[PS <: Serializer[P], P](prefix: P, serializer: PS): KeyValueIterator[Bytes, Array[Byte]] =
    synchronized { writePending(); super.prefixScan(prefix, serializer) }
  override def approximateNumEntries(): Long = synchronized { writePending(); super.approximateNumEntries() }
  override def snapshot(): Snapshot = synchronized { writePending(); super.snapshot() }
  override def query[R](query: Query[R], bound: PositionBound, config: QueryConfig): QueryResult[R] =
    synchronized { writePending(); super.query(query, bound, config) }

  /** Writes the pending puts, then flushes as Kafka does (before every commit and checkpoint). */
  override def flush(): Unit = synchronized {
    writePending()
    super.flush()
  }

  /** The input position of every write so far. */
  override def getPosition: Position = synchronized {
    recordInputPosition()
    super.getPosition
  }

  /** Writes the pending puts and forgets the handle before Kafka closes the database behind it. */
  override def close(): Unit = synchronized {
    try if (rocks != null) writePending()
    finally {
      clearPending()
      rocks = null
      super.close()
    }
  }

  private def writePending(): Unit = {
    recordInputPosition()
    if (!pendingKeys.isEmpty) {
      val batch = new WriteBatch()
      try {
        // In order: a key put twice ends with its last value, as it would one write at a time.
        var i = 0
        while (i < pendingKeys.size) {
          addToBatch(new KeyValue(pendingKeys.get(i).get, pendingValues.get(i)), batch)
          i += 1
        }
        super.write(batch)
      } finally batch.close()
      clearPending()
    }
  }

  private def clearPending(): Unit = {
    pendingKeys.clear()
    pendingValues.clear()
    pendingIndex = null
  }

  private def pendingLookup(key: Bytes): Array[Byte] =
    if (pendingKeys.isEmpty) null
    else {
      if (pendingIndex == null) {
        pendingIndex = new util.HashMap[Bytes, Array[Byte]](pendingKeys.size * 2)
        var i = 0
        while (i < pendingKeys.size) {
          pendingIndex.put(pendingKeys.get(i), pendingValues.get(i))
          i += 1
        }
      }
      pendingIndex.get(key)
    }

  // What StoreQueryUtils.updatePosition does per write, kept as plain fields until recorded.
  private def noteInputPosition(): Unit = {
    val meta = ctx.recordMetadata()
    if (meta.isPresent && meta.get.topic != null) {
      val m = meta.get
      if (unrecordedTopic != null && (unrecordedPartition != m.partition || unrecordedTopic != m.topic)) recordInputPosition()
      unrecordedTopic = m.topic
      unrecordedPartition = m.partition
      unrecordedOffset = m.offset
    }
  }

  private def recordInputPosition(): Unit =
    if (unrecordedTopic != null) {
      position.withComponent(unrecordedTopic, unrecordedPartition, unrecordedOffset)
      unrecordedTopic = null
    }

  private def raiseMaxKey(k: Array[Byte]): Unit =
    if (maxKnown && (maxKey == null || util.Arrays.compareUnsigned(k, maxKey) > 0)) maxKey = k

  // The greatest key in RocksDB and among the pending puts, which a lookup may not have written yet.
  private def readMaxKey(): Unit = {
    val it = rocks.newIterator()
    try {
      it.seekToLast()
      maxKey = if (it.isValid) it.key else null
    } finally it.close()
    maxKnown = true
    pendingKeys.forEach(k => raiseMaxKey(k.get))
  }
}

/** Settings shared by FilteredRocksDbStore and its subclass. */
object FilteredRocksDbStore {

  /** The metrics scope Kafka gives its own persistent key-value stores. */
  val MetricsScope = "rocksdb"

  // Puts buffered before they are written regardless of the next flush (about 150 KiB of seen ids).
  // A million-record drain took 10.5 s with 1000 or 200, 11.2 s with 10,000: a big buffer outlives
  // young collections and is copied by each, and would be written inside the commit's pause.
  private val MaxPending = 1000

  private val dbField = {
    val f = classOf[RocksDBStore].getDeclaredField("db")
    f.setAccessible(true)
    f
  }

  private def handle(store: RocksDBStore): RocksDB = dbField.get(store).asInstanceOf[RocksDB]
}
