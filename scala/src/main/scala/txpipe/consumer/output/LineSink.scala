package txpipe.consumer.output

/** Where the "(account, total)" lines go. */
trait LineSink {

  /** Takes one line's UTF-8 bytes (without its newline), before the record it belongs to is sent on. */
  def write(line: Array[Byte]): Unit
}
