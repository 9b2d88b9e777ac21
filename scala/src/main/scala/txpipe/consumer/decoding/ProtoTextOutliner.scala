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
    def toOutline: MessageOutline = MessageOutline(name, nested.iterator.map(_.toOutline).toVector)
  }

  /** The outline of .proto text, or why the text could not be read. */
  def outline(text: String): Either[String, SchemaOutline] =
    tokenize(text).flatMap(build)

  private def build(tokens: IndexedSeq[String]): Either[String, SchemaOutline] = {
    var packageName = ""
    val topLevel = mutable.ArrayBuffer.empty[Node]
    // One entry per open brace: Some(node) for a message body, None for anything else.
    val open = mutable.Stack.empty[Option[Node]]
    def isIdent(s: String) = s.nonEmpty && (Character.isLetter(s.head) || s.head == '_')
    def at(i: Int) = if (i < tokens.length) tokens(i) else ""

    def startMessage(name: String): Unit = {
      val node = new Node(name)
      if (open.isEmpty) topLevel += node
      else open.top.foreach(_.nested += node)
      open.push(Some(node))
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
      } else if (t == "{") {
        open.push(None)
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
