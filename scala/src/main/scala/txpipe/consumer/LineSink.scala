package txpipe.consumer

/** Where the "(account, total)" lines go. */
trait LineSink {

  /** Takes one line (without its newline). */
  def write(line: String): Unit

  /** Returns once every line taken so far is out of this process (called before each commit). */
  def flush(): Unit = ()
}
