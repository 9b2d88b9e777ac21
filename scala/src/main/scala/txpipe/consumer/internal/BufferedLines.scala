package txpipe.consumer.internal

import java.io.{BufferedOutputStream, IOException, OutputStream}
import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.TimeUnit

import org.slf4j.LoggerFactory

/** Lines written through a 64 KiB buffer: one system call per buffer-full under load instead of
  * one per line, yet no line waits longer than `maxDelayMillis` when the flow pauses.
  *
  * A daemon thread does the delayed flush; it sleeps while nothing is buffered. Callers that need
  * the lines out now (before a commit, at shutdown) call flush(). A failed write (say, the reader
  * of a pipe went away) is logged once and later lines are dropped: the lines are a view of the
  * totals, which live in Kafka, so a lost reader must not stop the totalling.
  */
final class BufferedLines(out: OutputStream, maxDelayMillis: Long, name: String) {

  private val log = LoggerFactory.getLogger(classOf[BufferedLines])
  private val buffer = new BufferedOutputStream(out, 1 << 16)
  private var dirty = false
  private var broken = false

  private val flusher = new Thread(() => flushLoop(), s"txpipe-$name-flusher")
  flusher.setDaemon(true)
  flusher.start()

  /** Appends `line` and a newline. */
  def write(line: String): Unit = synchronized {
    if (!broken) {
      attempt {
        buffer.write(line.getBytes(UTF_8))
        buffer.write('\n')
      }
      if (!dirty) {
        dirty = true
        notifyAll()
      }
    }
  }

  /** Writes out everything buffered. */
  def flush(): Unit = synchronized {
    if (dirty && !broken) attempt(buffer.flush())
    dirty = false
  }

  private def flushLoop(): Unit =
    try
      while (true) {
        synchronized { while (!dirty) wait() }
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
        log.error(s"writing to $name failed, no more lines will be written there (totals are unaffected): $e")
    }
}
