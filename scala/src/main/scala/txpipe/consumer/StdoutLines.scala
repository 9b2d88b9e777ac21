package txpipe.consumer

import java.io.{BufferedOutputStream, FileDescriptor, FileOutputStream, IOException}
import java.util.concurrent.TimeUnit

import org.slf4j.LoggerFactory

/** The default line sink: standard output, which carries nothing but the "(account, total)" lines.
  *
  * Lines go through a 64 KiB buffer: one system call per buffer-full under load rather than one
  * per line, and no line waits more than `MaxDelayMillis` when the flow pauses (a daemon thread
  * writes out what is buffered). The producer's interceptor [[output.LinesFlushedOnAck]] writes
  * the buffer out before any record sent after a line can complete, hence before the Kafka
  * transaction holding that line's record commits. A failed write (the reader of a pipe went
  * away) is logged once and later lines are dropped: the lines are a view of the totals, which
  * live in Kafka, so a lost reader must not stop the totalling.
  */
object StdoutLines extends LineSink {

  /** The longest a line waits in the buffer before a reader of the pipe sees it. */
  val MaxDelayMillis = 1L

  private val log = LoggerFactory.getLogger("txpipe.consumer.StdoutLines")
  // Its own stream on fd 1, so nothing that swaps System.out can divert or interleave the lines.
  private val buffer = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16)
  private val lock = new Object
  @volatile private var dirty = false
  private var broken = false

  private val flusher = new Thread(() => flushLoop(), "txpipe-stdout-flusher")
  flusher.setDaemon(true)
  flusher.start()

  /** Buffers one line and its newline. */
  override def write(line: Array[Byte]): Unit = lock.synchronized {
    if (!broken) {
      attempt {
        buffer.write(line)
        buffer.write('\n')
      }
      if (!dirty) {
        dirty = true
        lock.notifyAll()
      }
    }
  }

  /** Writes out every buffered line now; returns at once when nothing is buffered. */
  def flush(): Unit =
    if (dirty) lock.synchronized {
      if (dirty && !broken) attempt(buffer.flush())
      dirty = false
    }

  private def flushLoop(): Unit =
    try
      while (true) {
        lock.synchronized { while (!dirty) lock.wait() }
        // Let more lines gather, then write them all with one call.
        TimeUnit.MILLISECONDS.sleep(MaxDelayMillis)
        flush()
      }
    catch { case _: InterruptedException => () }

  private def attempt(io: => Unit): Unit =
    try io
    catch {
      case e: IOException =>
        broken = true
        log.error(s"writing to stdout failed, no more lines will be written there (totals are unaffected): $e")
    }
}
