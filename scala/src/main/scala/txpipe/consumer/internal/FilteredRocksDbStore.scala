package txpipe.consumer.internal

import org.apache.kafka.common.utils.Bytes
import org.apache.kafka.streams.processor.{StateStore, StateStoreContext}
import org.apache.kafka.streams.state.internals.RocksDBStore
import org.apache.kafka.streams.state.{KeyValueBytesStoreSupplier, KeyValueStore}
import org.rocksdb.RocksDB

/** Kafka's RocksDB store, except that a lookup asks RocksDB's bloom filters first.
  *
  * Nearly every seen-id lookup is for an id never seen. RocksJava's `get` reports such a miss by
  * throwing and catching a C++ exception inside the JNI layer, which was about a quarter of the
  * lookup's time; `keyMayExist` answers "certainly absent" from the memtable and filter blocks
  * without it, and without reading from disk. Anything it cannot rule out goes to the normal `get`.
  *
  * Kafka keeps its RocksDB handle package-private, so it is read by reflection once per open.
  */
final class FilteredRocksDbStore(name: String) extends RocksDBStore(name, FilteredRocksDbStore.MetricsScope) {

  private var rocks: RocksDB = _

  /** Opens the store as Kafka does, then keeps its RocksDB handle for the filter check. */
  override def init(context: StateStoreContext, root: StateStore): Unit = {
    super.init(context, root)
    rocks = FilteredRocksDbStore.handle(this)
  }

  /** null when the filters rule the key out; otherwise Kafka's own lookup (which also reports a closed store). */
  override def get(key: Bytes): Array[Byte] = synchronized {
    // `rocks` is set only between a successful init and close, so it doubles as the open check.
    if (rocks != null && !rocks.keyMayExist(key.get, null)) null
    else super.get(key)
  }

  /** Forgets the handle before Kafka closes the database behind it. */
  override def close(): Unit = synchronized {
    rocks = null
    super.close()
  }
}

/** A store supplier for Stores.keyValueStoreBuilder, in place of Stores.persistentKeyValueStore. */
object FilteredRocksDbStore {

  /** The metrics scope Kafka gives its own persistent key-value stores. */
  val MetricsScope = "rocksdb"

  private val dbField = {
    val f = classOf[RocksDBStore].getDeclaredField("db")
    f.setAccessible(true)
    f
  }

  private def handle(store: RocksDBStore): RocksDB = dbField.get(store).asInstanceOf[RocksDB]

  /** Supplies a FilteredRocksDbStore named `storeName`. */
  def supplier(storeName: String): KeyValueBytesStoreSupplier = new KeyValueBytesStoreSupplier {
    override def name(): String = storeName
    override def get(): KeyValueStore[Bytes, Array[Byte]] = new FilteredRocksDbStore(storeName)
    override def metricsScope(): String = MetricsScope
  }
}
