package txpipe.consumer.output

import java.io.{BufferedOutputStream, IOException, OutputStream}
import java.util.concurrent.TimeUnit

import org.slf4j.LoggerFactory

/** A line sink over `out` with a 64 KiB buffer: one write call per buffer-full under load rather
  * than one per line, and no line waits more than `maxDelayMillis` when the flow pauses (a daemon
  * thread writes out what is buffered). A failed write (the reader of a pipe went away) is logged
  * once and later lines are dropped: the lines are a view of the totals, which live in Kafka, so a
  * lost reader must not stop the totalling.
  */
class BufferedLines(out: OutputStream, maxDelayMillis: Long) extends LineSink {

  private val log = LoggerFactory.getLogger(classOf[BufferedLines])
  private val buffer = new BufferedOutputStream(out, 1 << 16)
  private val lock = new Object
  @volatile private var dirty = false
  private var broken = false

  private val flusher = new Thread(() => flushLoop(), "txpipe-lines-flusher")
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
        TimeUnit.MILLISECONDS.sleep(maxDelayMillis)
        flush()
      }
    catch { case _: InterruptedException => () }

  private def attempt(io: => Unit): Unit =
    try io
    catch {
      case e: IOException =>
        broken = true
        log.error(s"writing the lines failed, no more lines will be written there (totals are unaffected): $e")
    }
}
