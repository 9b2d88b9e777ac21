package txpipe.consumer.storage

import java.io.File
import java.nio.ByteBuffer
import java.time.{Duration, Instant}
import java.util
import java.util.concurrent.{Callable, ExecutionException, Executors, Future, ThreadFactory}

import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.KeyValue
import org.apache.kafka.streams.processor.{BatchingStateRestoreCallback, StateStore, StateStoreContext}
import org.apache.kafka.streams.query.Position
import org.apache.kafka.streams.state.{KeyValueIterator, KeyValueStore}
import org.rocksdb.{CompressionType, FlushOptions, InfoLogLevel, Options, RocksDB, WriteBatch, WriteOptions}
import org.slf4j.LoggerFactory

/** One task's counted transaction ids, each with the wall-clock time (ms, 8 bytes big-endian)
  * it was first counted, kept in time segments so that forgetting drops whole segments.
  *
  * Each segment is a RocksDB database holding the ids first counted within `segmentMs`; a put
  * goes to the segment of its time, a lookup asks the segments newest first. When a put opens a
  * new segment, the segments that ended more than `retention` ago are closed and deleted: no id
  * is visited to forget it, so the cost is per segment, not per id. An id is kept at least
  * `retention` and at most `retention` + `segmentMs`; whoever reads it decides with its time
  * whether it is still recent enough to count.
  *
  * Kafka Streams wraps this store in its change-logging and metering layers (it is built through
  * `Stores.keyValueStoreBuilder`), so each put is in the changelog within the task's transaction,
  * and a restore comes back through [[SeenIdStore#init]]'s callback. The changelog forgets by
  * time too (delete policy, see [[SeenIds.changelogConfig]]); a restore skips ids already
  * past the retention. Deletes of whole segments are local and never logged.
  *
  * Used from its task's stream thread only, like every Streams store.
  */
final class SeenIdStore(
    storeName: String,
    retention: Duration,
    onForget: Long => Unit,
    clock: () => Long = () => System.currentTimeMillis()
) extends KeyValueStore[Bytes, Array[Byte]] {

  private val log = LoggerFactory.getLogger(classOf[SeenIdStore])
  private val retentionMs = retention.toMillis
  private val segmentMs = SeenIdStore.segmentMs(retention)
  private val segments = new util.TreeMap[java.lang.Long, SeenIdStore.Segment]()
  // The same segments newest first, and the newest alone: what every lookup and put reads,
  // without a tree walk or a boxed key per record. Rebuilt when a segment opens or goes.
  private var newestFirst = Array.empty[SeenIdStore.Segment]
  private var newest: SeenIdStore.Segment = _
  private val writeOptions = new WriteOptions().setDisableWAL(true)
  private var dir: File = _
  // The segment after the newest, opened ahead on the files thread: creating a RocksDB database
  // syncs its first files to disk, a wait the stream thread would otherwise take each time time
  // moves into a new segment (docs/storage.md).
  private var spare: SeenIdStore.Spare = _
  private var open = false
  // The latest first-seen time put, which decides what has expired.
  private var latest = Long.MinValue

  override def name(): String = storeName

  /** Opens the segments left by an earlier run (dropping expired ones) and registers the restore. */
  override def init(context: StateStoreContext, root: StateStore): Unit = {
    dir = new File(context.stateDir(), storeName)
    if (!dir.isDirectory && !dir.mkdirs()) throw new IllegalStateException(s"cannot create $dir")
    Option(dir.listFiles()).getOrElse(Array.empty[File]).foreach { f =>
      f.getName.toLongOption match {
        case Some(id) if f.isDirectory => segments.put(id, SeenIdStore.Segment.open(id, f))
        case _ => SeenIdStore.deleteLater(f) // a segment dropped while a delete was pending, or a stray file
      }
    }
    segmentsChanged()
    open = true
    forgetBefore(clock())
    context.register(
      root,
      new BatchingStateRestoreCallback {
        override def restoreAll(records: util.Collection[KeyValue[Array[Byte], Array[Byte]]]): Unit =
          SeenIdStore.this.restoreAll(records, clock())
      }
    )
  }

  /** Puts changelog records back, skipping ids first seen more than `retention` before `now`. */
  private[storage] def restoreAll(records: util.Collection[KeyValue[Array[Byte], Array[Byte]]], now: Long): Unit = {
    val cutoff = now - retentionMs
    records.forEach(kv => restoreRecord(kv.key, kv.value, cutoff))
  }

  /** The first-seen time of `key` from the newest segment that holds it, or null. */
  override def get(key: Bytes): Array[Byte] = {
    val k = key.get
    val all = newestFirst
    var i = 0
    while (i < all.length) {
      val v = all(i).get(k)
      if (v != null) return v
      i += 1
    }
    null
  }

  /** Stores `key` in the segment of its first-seen time `value`; a null value deletes. */
  override def put(key: Bytes, value: Array[Byte]): Unit =
    if (value == null) delete(key)
    else {
      val segment = segmentFor(SeenIdStore.timeOf(value))
      if (segment != null) segment.put(key.get, value, writeOptions)
    }

  override def putIfAbsent(key: Bytes, value: Array[Byte]): Array[Byte] = {
    val previous = get(key)
    if (previous == null) put(key, value)
    previous
  }

  override def putAll(entries: util.List[KeyValue[Bytes, Array[Byte]]]): Unit = entries.forEach(kv => put(kv.key, kv.value))

  /** Removes `key` from every segment; returns what the newest one held. */
  override def delete(key: Bytes): Array[Byte] = {
    val previous = get(key)
    if (previous != null) segments.values().forEach(_.delete(key.get, writeOptions))
    previous
  }

  override def range(from: Bytes, to: Bytes): KeyValueIterator[Bytes, Array[Byte]] = unsupported("range")
  override def all(): KeyValueIterator[Bytes, Array[Byte]] = unsupported("all")

  /** RocksDB's estimate of the ids held, over all segments. */
  override def approximateNumEntries(): Long = {
    var n = 0L
    segments.values().forEach(s => n += s.estimatedKeys)
    n
  }

  /** Writes the memtables to disk: Streams calls this before it records a checkpoint. */
  override def flush(): Unit = segments.values().forEach(_.flush(writeOptions))

  /** Writes what is pending and closes every segment. */
  override def close(): Unit = {
    discardSpare()
    segments.values().forEach(_.close(Some(writeOptions)))
    segments.clear()
    segmentsChanged()
    open = false
  }

  override def persistent(): Boolean = true
  override def isOpen: Boolean = open

  /** Not tracked: the store serves no interactive queries, and Streams needs a position only for them. */
  override def getPosition: Position = SeenIdStore.NoPosition

  /** The number of open segments, for tests and logs. */
  def segmentCount: Int = segments.size

  private def restoreRecord(key: Array[Byte], value: Array[Byte], cutoff: Long): Unit =
    if (value != null) {
      if (LegacyIdBatches.isBatch(value))
        LegacyIdBatches.foreach(value, s"a $storeName changelog record") { (k, v) => restoreOne(k, v, cutoff) }
      else restoreOne(key, value, cutoff)
    }

  private def restoreOne(key: Array[Byte], value: Array[Byte], cutoff: Long): Unit =
    // A mark starts with its first-seen time, whichever layout it has (see SeenMark).
    if (value.length >= 8 && SeenIdStore.timeOf(value) >= cutoff) {
      val segment = segmentFor(SeenIdStore.timeOf(value))
      if (segment != null) segment.put(key, value, writeOptions)
    }

  // The segment for an id first seen at `time`, opened if need be; null if that time is already forgotten.
  private def segmentFor(time: Long): SeenIdStore.Segment = {
    val id = Math.floorDiv(time, segmentMs)
    if (newest != null && newest.id == id) return newest
    val existing = segments.get(id)
    if (existing != null) existing
    else if (SeenIdStore.endOf(id, segmentMs) <= math.max(latest, time) - retentionMs) null
    else {
      val created = takeSpare(id).getOrElse(SeenIdStore.Segment.open(id, new File(dir, id.toString)))
      segments.put(id, created)
      segmentsChanged()
      if (time > latest) forgetBefore(time)
      if ((created eq newest) && spare == null) spare = SeenIdStore.openLater(id + 1, new File(dir, (id + 1).toString))
      created
    }
  }

  // Drops every segment that ended at least `retention` before `now`: all its ids are expired.
  private def forgetBefore(now: Long): Unit = {
    latest = math.max(latest, now)
    val cutoff = latest - retentionMs
    while (!segments.isEmpty && SeenIdStore.endOf(segments.firstKey, segmentMs) <= cutoff) {
      val segment = segments.pollFirstEntry().getValue
      segmentsChanged()
      val started = System.nanoTime()
      val ids = segment.estimatedKeys
      segment.close(None)
      SeenIdStore.deleteLater(segment.dropDir())
      onForget(ids)
      log.info(
        s"$storeName forgot about $ids transaction ids first counted from ${Instant.ofEpochMilli(segment.id * segmentMs)} " +
          s"to ${Instant.ofEpochMilli(SeenIdStore.endOf(segment.id, segmentMs))} (retention $retention), " +
          s"closing their segment in ${(System.nanoTime() - started) / 1000000} ms")
    }
  }

  // The spare if it is segment `id`; a spare whose time has already passed is dropped.
  private def takeSpare(id: Long): Option[SeenIdStore.Segment] =
    if (spare == null || spare.id > id) None
    else if (spare.id < id) { discardSpare(); None }
    else {
      val opening = spare.segment
      spare = null
      // A failed open falls back to opening on the stream thread, which reports the error if it recurs.
      try Some(opening.get())
      catch { case _: ExecutionException => None }
    }

  private def discardSpare(): Unit =
    if (spare != null) {
      val opening = spare.segment
      spare = null
      try {
        val unused = opening.get()
        unused.close(None)
        SeenIdStore.deleteLater(unused.dropDir())
      } catch { case _: ExecutionException => () }
    }

  private def segmentsChanged(): Unit = {
    newestFirst = segments.descendingMap().values().toArray(new Array[SeenIdStore.Segment](0))
    newest = if (newestFirst.isEmpty) null else newestFirst(0)
  }

  private def unsupported(what: String): Nothing =
    throw new UnsupportedOperationException(s"$storeName answers lookups of single ids; $what is not supported")
}

/** Segment layout and time encoding of the seen-id store. */
object SeenIdStore {

  RocksDB.loadLibrary()

  private val NoPosition = Position.emptyPosition()

  // Puts buffered per segment before they are written as one batch (about 60 KiB of ids).
  private val MaxPending = 1000

  /** The width of a segment: half the retention (at least a second), so at most three or four are open. */
  def segmentMs(retention: Duration): Long = math.max(1000L, retention.toMillis / 2)

  /** The 8-byte big-endian encoding of a first-seen time. */
  def encodeTime(ms: Long): Array[Byte] = ByteBuffer.allocate(8).putLong(ms).array()

  /** The first-seen time at the start of a stored value. */
  def timeOf(value: Array[Byte]): Long = ByteBuffer.wrap(value).getLong

  private def endOf(id: Long, segmentMs: Long): Long = (id + 1) * segmentMs

  // Opening the next segments and deleting dropped ones happen off the stream thread; a dropped
  // directory is renamed first, so a store opened meanwhile never sees half a segment.
  private val files = Executors.newSingleThreadExecutor(new ThreadFactory {
    override def newThread(r: Runnable): Thread = {
      val t = new Thread(r, "txpipe-seen-id-files")
      t.setDaemon(true)
      t
    }
  })

  private def deleteLater(f: File): Unit = files.execute(() => deleteTree(f))

  private final case class Spare(id: Long, segment: Future[Segment])

  private def openLater(id: Long, dir: File): Spare =
    Spare(id, files.submit(new Callable[Segment] { override def call(): Segment = Segment.open(id, dir) }))

  private def deleteTree(f: File): Unit = {
    Option(f.listFiles()).foreach(_.foreach(deleteTree))
    f.delete()
  }

  /** One time segment: a RocksDB database, the puts not yet written to it, and the greatest key of both. */
  private final class Segment(val id: Long, dir: File, options: Options, db: RocksDB) {
    // Every key of the segment is at most maxKey (null when empty): a lookup beyond it, as nearly
    // every new time-ordered id is, answers "absent" without entering RocksDB.
    private var maxKey: Array[Byte] = {
      val it = db.newIterator()
      try { it.seekToLast(); if (it.isValid) it.key else null }
      finally it.close()
    }
    // Puts are written to RocksDB a batch at a time (one call through JNI instead of one per id).
    // Like RocksDB's memtable, which Streams runs without a write-ahead log, they are rebuilt from
    // the changelog after a crash. The index by key is built only when a lookup needs it: new
    // time-ordered ids never do.
    private val pendingKeys = new util.ArrayList[Bytes]()
    private val pendingValues = new util.ArrayList[Array[Byte]]()
    private var pendingIndex: util.HashMap[Bytes, Array[Byte]] = _

    def get(key: Array[Byte]): Array[Byte] =
      if (maxKey == null || util.Arrays.compareUnsigned(key, maxKey) > 0) null
      else {
        val buffered = pendingLookup(key)
        if (buffered != null) buffered
        // The filters rule most absent keys out without RocksJava's slower miss path.
        else if (!db.keyMayExist(key, null)) null
        else db.get(key)
      }

    def put(key: Array[Byte], value: Array[Byte], options: WriteOptions): Unit = {
      val k = Bytes.wrap(key)
      pendingKeys.add(k)
      pendingValues.add(value)
      if (pendingIndex != null) pendingIndex.put(k, value)
      if (maxKey == null || util.Arrays.compareUnsigned(key, maxKey) > 0) maxKey = key
      if (pendingKeys.size >= SeenIdStore.MaxPending) write(options)
    }

    def delete(key: Array[Byte], options: WriteOptions): Unit = {
      write(options)
      db.delete(options, key)
    }

    def estimatedKeys: Long = db.getLongProperty("rocksdb.estimate-num-keys") + pendingKeys.size

    /** Writes the pending puts, in order, as one batch. */
    def write(options: WriteOptions): Unit =
      if (!pendingKeys.isEmpty) {
        val batch = new WriteBatch()
        try {
          var i = 0
          while (i < pendingKeys.size) {
            batch.put(pendingKeys.get(i).get, pendingValues.get(i))
            i += 1
          }
          db.write(options, batch)
        } finally batch.close()
        pendingKeys.clear()
        pendingValues.clear()
        pendingIndex = null
      }

    def flush(options: WriteOptions): Unit = {
      write(options)
      val f = new FlushOptions().setWaitForFlush(true)
      try db.flush(f)
      finally f.close()
    }

    /** Closes the database; `options` given, pending puts are written first, else dropped with the segment. */
    def close(options: Option[WriteOptions]): Unit = {
      options.foreach(write)
      db.close()
      this.options.close()
    }

    /** Renames the closed segment's directory out of the store's way; returns where it went. */
    def dropDir(): File = {
      val dropped = new File(dir.getParentFile, s"${dir.getName}.dropped-${System.nanoTime()}")
      if (dir.renameTo(dropped)) dropped else dir
    }

    private def pendingLookup(key: Array[Byte]): Array[Byte] =
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
        pendingIndex.get(Bytes.wrap(key))
      }
  }

  private object Segment {
    def open(id: Long, dir: File): Segment = {
      val options = new Options()
        .setCreateIfMissing(true)
        .setCompressionType(CompressionType.NO_COMPRESSION)
        // Streams flushes before every checkpoint; a segment closed to be deleted needs no flush.
        .setAvoidFlushDuringShutdown(true)
        // A long-running process: RocksDB's own info log must not grow for months.
        .setInfoLogLevel(InfoLogLevel.WARN_LEVEL)
        .setKeepLogFileNum(2)
        .setMaxLogFileSize(1L << 20)
      BoundedRocksDb.tune(options)
      dir.getParentFile.mkdirs()
      new Segment(id, dir, options, RocksDB.open(options, dir.getAbsolutePath))
    }
  }
}
