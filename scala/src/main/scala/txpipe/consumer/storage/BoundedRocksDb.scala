package txpipe.consumer.storage

import java.util

import org.apache.kafka.streams.state.RocksDBConfigSetter
import org.rocksdb.{BlockBasedTableConfig, BloomFilter, LRUCache, Options, WriteBufferManager}

/** Puts Kafka Streams' RocksDB stores (the totals) under the process's one memory budget. */
final class BoundedRocksDb extends RocksDBConfigSetter {

  /** Points the store at the shared cache and write-buffer manager. */
  override def setConfig(storeName: String, options: Options, configs: util.Map[String, AnyRef]): Unit =
    BoundedRocksDb.tune(options)

  /** Nothing to free per store: the cache and manager are shared for the life of the process. */
  override def close(storeName: String, options: Options): Unit = ()
}

/** The process-wide budget shared by every RocksDB database of the consumer: Streams' totals
  * stores and the seen-id segments alike, so native memory does not grow with partitions,
  * segments or the data written. */
object BoundedRocksDb {

  /** Block cache plus memtables, for all databases together. */
  val TotalBytes: Long = 32L << 20

  /** The part of TotalBytes memtables may take before RocksDB flushes them. */
  val MemtableBytes: Long = 8L << 20

  // One shard, half of it for index and filter blocks: with the default 64 shards the write-buffer
  // manager's 256 KiB placeholders pushed filter blocks out of small shards (docs/storage.md).
  private lazy val cache = new LRUCache(TotalBytes, 0, false, 0.5)
  private lazy val writeBuffers = new WriteBufferManager(MemtableBytes, cache)
  // One filter policy for every database: a new one per segment would leak a native object each time.
  private lazy val filter = new BloomFilter(10, false)

  /** Points `options` at the shared cache and write-buffer manager, with bloom filters that answer
    * lookups of absent keys (most lookups here) from memory. */
  def tune(options: Options): Unit = {
    val table = options.tableFormatConfig() match {
      case t: BlockBasedTableConfig => t
      case _ => new BlockBasedTableConfig().setFilterPolicy(filter)
    }
    table.setBlockCache(cache)
    table.setCacheIndexAndFilterBlocks(true)
    table.setCacheIndexAndFilterBlocksWithHighPriority(true)
    table.setPinTopLevelIndexAndFilter(true)
    options.setTableFormatConfig(table)
    options.setMemtablePrefixBloomSizeRatio(0.05)
    options.setMemtableWholeKeyFiltering(true)
    // Kafka turns this on, which leaves the last level without bloom filters: right when most
    // lookups hit, wrong here, where most miss.
    options.setOptimizeFiltersForHits(false)
    options.setWriteBufferManager(writeBuffers)
    options.setMaxWriteBufferNumber(2)
    options.setWriteBufferSize(MemtableBytes / 4)
  }
}
