package txpipe.consumer.decoding

import java.util.Base64

import scala.jdk.CollectionConverters._
import scala.util.Try

import com.google.protobuf.DescriptorProtos.{DescriptorProto, FieldDescriptorProto, FileDescriptorProto}

/** What the message indexes of a frame can point at: a .proto file's package and message tree. */
final case class SchemaOutline(packageName: String, messages: Vector[MessageOutline]) {

  /** The full name of the message at an index path, e.g. [0] -> "txpipe.v1.Transaction". */
  def resolve(indexes: Seq[Int]): Either[String, String] = resolveMessage(indexes).map(_._1)

  /** The full name and outline of the message at an index path. */
  def resolveMessage(indexes: Seq[Int]): Either[String, (String, MessageOutline)] = {
    val path = indexes.mkString("[", ", ", "]")
    if (indexes.isEmpty) return Left("empty message-index path")
    var level = messages
    var found: MessageOutline = null
    val names = Vector.newBuilder[String]
    var depth = 0
    while (depth < indexes.length) {
      val i = indexes(depth)
      if (i < 0 || i >= level.length)
        return Left(s"message index path $path points past the ${level.length} message(s) at depth $depth")
      found = level(i)
      names += found.name
      level = found.nested
      depth += 1
    }
    val local = names.result().mkString(".")
    Right((if (packageName.isEmpty) local else s"$packageName.$local", found))
  }
}

/** Builds outlines from what registries return: .proto text, or a base64 FileDescriptorProto. */
object SchemaOutline {

  private val Base64Text = "^[A-Za-z0-9+/\\r\\n]+={0,2}$".r

  /** The outline of a schema string in either form, or why it cannot be read. */
  def parse(schema: String): Either[String, SchemaOutline] = {
    val trimmed = schema.trim
    if (trimmed.isEmpty) Left("schema text is empty")
    // .proto text always has spaces, braces or semicolons, none of which base64 can contain.
    else if (Base64Text.matches(trimmed))
      fromDescriptorBase64(trimmed).toRight("schema is neither .proto text nor a base64 FileDescriptorProto")
    else ProtoTextOutliner.outline(trimmed)
  }

  /** The outline of an already parsed descriptor. */
  def fromDescriptor(file: FileDescriptorProto): SchemaOutline =
    SchemaOutline(file.getPackage, file.getMessageTypeList.asScala.iterator.map(outlineOf).toVector)

  private def fromDescriptorBase64(text: String): Option[SchemaOutline] =
    Try(FileDescriptorProto.parseFrom(Base64.getMimeDecoder.decode(text))).toOption
      .filter(f => f.hasPackage || f.getMessageTypeCount > 0)
      .map(fromDescriptor)

  private def outlineOf(message: DescriptorProto): MessageOutline =
    MessageOutline(
      message.getName,
      message.getNestedTypeList.asScala.iterator.map(outlineOf).toVector,
      message.getFieldList.asScala.iterator.map(fieldOf).toVector)

  private def fieldOf(f: FieldDescriptorProto): FieldOutline = {
    val typeName =
      if (f.getType == FieldDescriptorProto.Type.TYPE_MESSAGE || f.getType == FieldDescriptorProto.Type.TYPE_ENUM)
        f.getTypeName.stripPrefix(".")
      else f.getType.name.stripPrefix("TYPE_").toLowerCase
    FieldOutline(f.getName, f.getNumber, typeName, f.getLabel == FieldDescriptorProto.Label.LABEL_REPEATED)
  }
}
