package txpipe.consumer.service

import java.io.IOException
import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.{ArrayBlockingQueue, TimeUnit}

import com.sun.net.httpserver.HttpExchange

/** One page's Server-Sent Events connection: events wait in a bounded queue and are written by
  * [[run]] on a thread of its own, so a slow reader holds up nothing but itself. */
final class SseSubscriber(exchange: HttpExchange, depth: Int, onEnd: SseSubscriber => Unit) extends EventSink with Runnable {

  private val queue = new ArrayBlockingQueue[String](depth)
  @volatile private var closed = false

  /** Queues an event; false when `depth` events are already waiting. */
  override def offer(event: String): Boolean = !closed && queue.offer(event)

  /** Ends the connection; the writing thread stops at its next wake-up. */
  override def close(): Unit = {
    closed = true
    // Wakes the writer if it waits for an event.
    queue.clear()
    queue.offer("")
    ()
  }

  /** Writes events until the connection or the subscription ends; a comment every 15 s keeps proxies from timing it out. */
  override def run(): Unit = {
    val out = exchange.getResponseBody
    try {
      while (!closed) {
        val event = queue.poll(15, TimeUnit.SECONDS)
        if (!closed) {
          val text = if (event == null) ": keep-alive\n\n" else s"data: $event\n\n"
          out.write(text.getBytes(UTF_8))
          out.flush()
        }
      }
    } catch {
      case _: IOException => ()
      case _: InterruptedException => Thread.currentThread().interrupt()
    } finally {
      closed = true
      onEnd(this)
      try exchange.close()
      catch { case _: Exception => () }
    }
  }
}
