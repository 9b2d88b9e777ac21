package txpipe.consumer

import java.io.{FileDescriptor, FileOutputStream, PrintStream}
import java.nio.charset.StandardCharsets

/** The default line sink: standard output, which carries nothing but the "(account, total)" lines. */
object StdoutLines {

  // Its own stream on fd 1, so nothing that swaps System.out can divert or interleave the lines.
  private val out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8)

  /** Writes one line and flushes it, so a reader of the pipe sees each total as it happens. */
  def println(line: String): Unit = out.synchronized {
    out.print(line)
    out.print('\n')
    out.flush()
  }
}
