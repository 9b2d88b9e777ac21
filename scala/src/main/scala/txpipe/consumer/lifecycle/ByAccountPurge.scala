package txpipe.consumer.lifecycle

import java.util.concurrent.TimeUnit

import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.admin.{Admin, RecordsToDelete}
import org.slf4j.LoggerFactory

/** Deletes the records of the by-account topic that the group has committed past, as Kafka
  * Streams does for its own repartition topics: the topic keeps no time limit, so this is what
  * bounds it. A failure (for example no DeleteRecords permission) is logged and tried again. */
final class ByAccountPurge(admin: Admin, group: String, topic: String) {

  private val log = LoggerFactory.getLogger(classOf[ByAccountPurge])
  private val CallTimeoutMs = 30000L
  @volatile private var warned = false

  /** One pass: removes everything before the group's committed offset on each partition of the topic. */
  def purgeOnce(): Unit =
    try {
      val committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
        .get(CallTimeoutMs, TimeUnit.MILLISECONDS).asScala
      val cut = committed.collect {
        case (tp, om) if tp.topic == topic && om != null && om.offset > 0 => tp -> RecordsToDelete.beforeOffset(om.offset)
      }
      if (cut.nonEmpty) admin.deleteRecords(cut.asJava).all().get(CallTimeoutMs, TimeUnit.MILLISECONDS)
      warned = false
    } catch {
      case _: InterruptedException => Thread.currentThread().interrupt()
      case e: Exception =>
        if (!warned) log.warn(s"could not remove consumed records of $topic (retrying every pass; it grows until this works): $e")
        warned = true
    }
}
