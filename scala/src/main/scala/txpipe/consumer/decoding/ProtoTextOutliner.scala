package txpipe.consumer.decoding

import scala.collection.mutable

/** Finds the package and the message tree in .proto source text.
  *
  * Not a full parser: only the package statement and `message`/`group` blocks matter for
  * resolving message indexes, so everything else is skipped by matching braces.
  */
object ProtoTextOutliner {

  private final class Node(val name: String) {
    val nested: mutable.ArrayBuffer[Node] = mutable.ArrayBuffer.empty
    val fields: mutable.ArrayBuffer[FieldOutline] = mutable.ArrayBuffer.empty
    def toOutline: MessageOutline = MessageOutline(name, nested.iterator.map(_.toOutline).toVector, fields.toVector)
  }

  // What an open brace belongs to: fields are declared in a message body or in a oneof within one.
  private sealed trait Block
  private final case class MessageBody(node: Node) extends Block
  private final case class OneofBody(node: Node) extends Block
  private case object OtherBlock extends Block

  private val Labels = Set("optional", "repeated", "required")
  // Statements inside a message body that are not field declarations.
  private val NotTypes = Set("option", "reserved", "extensions", "extend", "enum", "message", "oneof", "group", "service")

  /** The outline of .proto text, or why the text could not be read. */
  def outline(text: String): Either[String, SchemaOutline] =
    tokenize(text).flatMap(build)

  private def build(tokens: IndexedSeq[String]): Either[String, SchemaOutline] = {
    var packageName = ""
    val topLevel = mutable.ArrayBuffer.empty[Node]
    // One entry per open brace.
    val open = mutable.Stack.empty[Block]
    def isIdent(s: String) = s.nonEmpty && (Character.isLetter(s.head) || s.head == '_')
    def isNumber(s: String) = s.nonEmpty && s.forall(Character.isDigit)
    def at(i: Int) = if (i < tokens.length) tokens(i) else ""
    // The message whose fields a declaration here would add to, if any.
    def fieldOwner: Option[Node] = open.headOption.collect { case MessageBody(n) => n; case OneofBody(n) => n }
    def statementStart(i: Int) = i == 0 || Set("{", "}", ";").contains(tokens(i - 1))

    def startMessage(name: String): Unit = {
      val node = new Node(name)
      open.headOption match {
        case None => topLevel += node
        case Some(MessageBody(parent)) => parent.nested += node
        case Some(_) => ()
      }
      open.push(MessageBody(node))
    }

    var i = 0
    while (i < tokens.length) {
      val t = tokens(i)
      if (t == "package" && open.isEmpty && isIdent(at(i + 1)) && at(i + 2) == ";") {
        packageName = at(i + 1)
        i += 3
      } else if (t == "message" && isIdent(at(i + 1)) && at(i + 2) == "{") {
        startMessage(at(i + 1))
        i += 3
      } else if (t == "group" && isIdent(at(i + 1)) && at(i + 2) == "=") {
        // proto2 `group Name = 1 [opts] { ... }` declares a nested message type too.
        var j = i + 3
        while (j < tokens.length && tokens(j) != "{" && tokens(j) != ";") j += 1
        if (at(j) == "{") { startMessage(at(i + 1)); i = j + 1 }
        else i = j + 1
      } else if (t == "oneof" && isIdent(at(i + 1)) && at(i + 2) == "{" && fieldOwner.isDefined) {
        open.push(OneofBody(fieldOwner.get))
        i += 3
      } else if (fieldOwner.isDefined && statementStart(i) && isIdent(t.stripPrefix(".")) && !NotTypes.contains(t)) {
        // [label] type name = number ... ;   or   map<K, V> name = number ... ;
        val repeated = t == "repeated"
        var j = if (Labels.contains(t)) i + 1 else i
        val typeName =
          if (at(j) == "map" && at(j + 1) == "<") {
            val close = tokens.indexOf(">", j)
            val name = if (close < 0) "map" else tokens.slice(j, close + 1).mkString
            j = if (close < 0) tokens.length else close + 1
            name
          } else { j += 1; at(j - 1) }
        if (isIdent(typeName.stripPrefix(".")) && isIdent(at(j)) && at(j + 1) == "=" && isNumber(at(j + 2))) {
          fieldOwner.get.fields +=
            FieldOutline(at(j), at(j + 2).toInt, typeName.stripPrefix("."), repeated || typeName.startsWith("map<"))
          i = j + 3
        } else i += 1
      } else if (t == "{") {
        open.push(OtherBlock)
        i += 1
      } else if (t == "}") {
        if (open.isEmpty) return Left("schema text has an unmatched '}'")
        open.pop()
        i += 1
      } else i += 1
    }
    if (open.nonEmpty) Left("schema text ends inside a block (unmatched '{')")
    else Right(SchemaOutline(packageName, topLevel.iterator.map(_.toOutline).toVector))
  }

  private def tokenize(text: String): Either[String, IndexedSeq[String]] = {
    val out = mutable.ArrayBuffer.empty[String]
    val n = text.length
    var i = 0
    while (i < n) {
      val c = text.charAt(i)
      if (Character.isWhitespace(c)) i += 1
      else if (c == '/' && i + 1 < n && text.charAt(i + 1) == '/') {
        while (i < n && text.charAt(i) != '\n') i += 1
      } else if (c == '/' && i + 1 < n && text.charAt(i + 1) == '*') {
        val end = text.indexOf("*/", i + 2)
        if (end < 0) return Left("schema text has an unterminated /* comment")
        i = end + 2
      } else if (c == '"' || c == '\'') {
        // Strings are skipped whole so braces or keywords inside them count for nothing.
        var j = i + 1
        while (j < n && text.charAt(j) != c) j += (if (text.charAt(j) == '\\') 2 else 1)
        if (j >= n) return Left("schema text has an unterminated string")
        out += "\"\""
        i = j + 1
      } else if (Character.isLetterOrDigit(c) || c == '_' || c == '.') {
        var j = i + 1
        while (j < n && { val d = text.charAt(j); Character.isLetterOrDigit(d) || d == '_' || d == '.' }) j += 1
        out += text.substring(i, j)
        i = j
      } else {
        out += c.toString
        i += 1
      }
    }
    Right(out.toIndexedSeq)
  }
}
