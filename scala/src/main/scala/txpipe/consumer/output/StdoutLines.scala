package txpipe.consumer.output

import java.io.{FileDescriptor, FileOutputStream}

/** The default line sink: standard output, which carries nothing but the "(account, total)" lines.
  *
  * Buffered (see [[BufferedLines]]), no line waiting more than 1 ms when the flow pauses. The
  * producer's interceptor [[LinesFlushedOnAck]] writes the buffer out before any record sent after
  * a line can complete, hence before the Kafka transaction holding that line's record commits. Its
  * own stream on fd 1, so nothing that swaps System.out can divert or interleave the lines.
  */
object StdoutLines extends BufferedLines(new FileOutputStream(FileDescriptor.out), maxDelayMillis = 1L)
