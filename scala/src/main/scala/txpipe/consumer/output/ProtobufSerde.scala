package txpipe.consumer.output

import org.apache.kafka.common.serialization.{Deserializer, Serde, Serdes, Serializer}
import scalapb.{GeneratedMessage, GeneratedMessageCompanion}

/** Plain protobuf bytes of a ScalaPB message (no registry framing), for stores and internal topics. */
object ProtobufSerde {

  /** A serde that writes `toByteArray` and reads `parseFrom`; null stays null. */
  def apply[A <: GeneratedMessage](companion: GeneratedMessageCompanion[A]): Serde[A] =
    Serdes.serdeFrom(
      new Serializer[A] {
        override def serialize(topic: String, data: A): Array[Byte] =
          if (data == null) null else data.toByteArray
      },
      new Deserializer[A] {
        override def deserialize(topic: String, data: Array[Byte]): A =
          if (data == null) null.asInstanceOf[A] else companion.parseFrom(data)
      }
    )
}
