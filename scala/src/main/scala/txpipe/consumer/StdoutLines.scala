package txpipe.consumer

import java.io.{FileDescriptor, FileOutputStream}

import txpipe.consumer.internal.BufferedLines

/** The default line sink: standard output, which carries nothing but the "(account, total)" lines. */
object StdoutLines extends LineSink {

  /** The longest a line waits in the buffer before a reader of the pipe sees it. */
  val MaxDelayMillis = 1L

  // Its own stream on fd 1, so nothing that swaps System.out can divert or interleave the lines.
  private val lines = new BufferedLines(new FileOutputStream(FileDescriptor.out), MaxDelayMillis, "stdout")

  /** Buffers one line; it is written within MaxDelayMillis, or sooner when the buffer fills. */
  override def write(line: String): Unit = lines.write(line)

  /** Writes out every buffered line now. */
  override def flush(): Unit = lines.flush()
}
