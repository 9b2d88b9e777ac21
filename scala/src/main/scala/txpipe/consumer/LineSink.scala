package txpipe.consumer

/** Where the "(account, total)" lines go. */
trait LineSink {

  /** Takes one line (without its newline); the line is out of this process when it returns. */
  def write(line: String): Unit
}
