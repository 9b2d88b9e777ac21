package txpipe.consumer

import java.io.{FileDescriptor, FileOutputStream, IOException}
import java.nio.charset.StandardCharsets.UTF_8

import org.slf4j.LoggerFactory

/** The default line sink: standard output, which carries nothing but the "(account, total)" lines.
  *
  * Each line is written with one system call before write returns, so no line of a committed
  * record can be left in a buffer of this process when it dies. A failed write (the reader of a
  * pipe went away) is logged once and later lines are dropped: the lines are a view of the
  * totals, which live in Kafka, so a lost reader must not stop the totalling.
  */
object StdoutLines extends LineSink {

  private val log = LoggerFactory.getLogger("txpipe.consumer.StdoutLines")
  // Its own stream on fd 1, so nothing that swaps System.out can divert or interleave the lines.
  private val out = new FileOutputStream(FileDescriptor.out)
  @volatile private var broken = false

  /** Writes one line and its newline. */
  override def write(line: String): Unit =
    if (!broken) {
      try out.write((line + "\n").getBytes(UTF_8))
      catch {
        case e: IOException =>
          broken = true
          log.error(s"writing to stdout failed, no more lines will be written there (totals are unaffected): $e")
      }
    }
}
