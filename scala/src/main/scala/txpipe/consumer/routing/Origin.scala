package txpipe.consumer.routing

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.kafka.common.header.Headers
import org.apache.kafka.common.header.internals.RecordHeaders

/** Where a record was first read: its input topic, partition and offset. A record moved to its
  * account's partition carries them in `txpipe.origin.*` headers, so reasons name the input record. */
final case class Origin(topic: String, partition: Int, offset: Long) {

  /** "topic=T partition=P offset=O", for logs and reasons. */
  override def toString: String = s"topic=$topic partition=$partition offset=$offset"

  /** Fresh headers holding this origin and nothing else. */
  def toHeaders: Headers = {
    val h = new RecordHeaders()
    h.add(Origin.Topic, topic.getBytes(UTF_8))
    h.add(Origin.Partition, partition.toString.getBytes(UTF_8))
    h.add(Origin.Offset, offset.toString.getBytes(UTF_8))
    h
  }
}

/** Reading origins back from headers. */
object Origin {
  val Topic = "txpipe.origin.topic"
  val Partition = "txpipe.origin.partition"
  val Offset = "txpipe.origin.offset"

  /** The origin in `headers`, or None if any part is missing or unreadable. */
  def fromHeaders(headers: Headers): Option[Origin] = {
    def text(name: String): Option[String] =
      Option(headers.lastHeader(name)).flatMap(h => Option(h.value)).map(new String(_, UTF_8))
    for {
      t <- text(Topic)
      p <- text(Partition).flatMap(_.toIntOption)
      o <- text(Offset).flatMap(_.toLongOption)
    } yield Origin(t, p, o)
  }
}
