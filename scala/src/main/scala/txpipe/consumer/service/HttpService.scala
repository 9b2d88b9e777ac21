package txpipe.consumer.service

import java.io.IOException
import java.net.{InetSocketAddress, URI, URLDecoder}
import java.net.http.{HttpClient, HttpRequest, HttpResponse}
import java.nio.charset.StandardCharsets.UTF_8
import java.time.Duration
import java.util.concurrent.{ArrayBlockingQueue, SynchronousQueue, ThreadPoolExecutor, TimeUnit}

import com.sun.net.httpserver.{HttpExchange, HttpHandler, HttpServer, HttpsConfigurator, HttpsServer}
import org.apache.kafka.streams.{KafkaStreams, KeyQueryMetadata}
import org.apache.kafka.streams.state.HostInfo
import org.slf4j.LoggerFactory

/** The consumer's HTTP service (the JDK's own server): account queries answered from committed
  * totals and routed to each account's owner, the live page and its events, health and metrics.
  *
  * Requests run on a small bounded pool (when it is busy, the accepting thread runs them, which
  * slows new connections instead of queueing without end); the live page's event streams each
  * have a thread of their own, at most [[TotalsEvents.DefaultMaxSubscribers]].
  */
final class HttpService(
    bindHost: String,
    port: Int,
    tls: HttpTls,
    val self: HostInfo,
    view: CommittedTotals,
    events: TotalsEvents,
    metrics: ServiceMetrics,
    state: () => KafkaStreams.State,
    ownerOf: String => KeyQueryMetadata,
    live: () => Readiness.Verdict,
    ready: () => Readiness.Verdict
) extends AutoCloseable {

  import HttpService._

  private val log = LoggerFactory.getLogger(classOf[HttpService])
  private val scheme = if (tls.server.isDefined) "https" else "http"
  // The JDK server's bound on reading a request (a client that sends its headers slowly holds a
  // connection no longer); responses are not bounded the same way, as the event streams are endless.
  if (System.getProperty(MaxRequestSecondsProperty) == null)
    System.setProperty(MaxRequestSecondsProperty, MaxRequestSeconds.toString)
  // The server writes a response's headers and body apart; with Nagle's algorithm on, the body then
  // waits for the client's delayed ACK of the headers on every keep-alive request (docs/service.md).
  if (System.getProperty(NoDelayProperty) == null) System.setProperty(NoDelayProperty, "true")
  private val server: HttpServer = tls.server match {
    case Some(ctx) =>
      val s = HttpsServer.create(new InetSocketAddress(bindHost, port), 64)
      s.setHttpsConfigurator(new HttpsConfigurator(ctx))
      s
    case None => HttpServer.create(new InetSocketAddress(bindHost, port), 64)
  }
  private val workers = new ThreadPoolExecutor(
    Workers,
    Workers,
    30,
    TimeUnit.SECONDS,
    new ArrayBlockingQueue[Runnable](WaitingRequests),
    daemon("txpipe-http"),
    new ThreadPoolExecutor.CallerRunsPolicy)
  private val streamWriters = new ThreadPoolExecutor(
    0,
    TotalsEvents.DefaultMaxSubscribers,
    30,
    TimeUnit.SECONDS,
    new SynchronousQueue[Runnable](),
    daemon("txpipe-events"))
  private val forwarder = {
    val b = HttpClient.newBuilder().connectTimeout(ForwardConnectTimeout).followRedirects(HttpClient.Redirect.NEVER)
    tls.client.foreach(b.sslContext)
    b.build()
  }

  server.setExecutor(workers)
  route("/", index)
  route("/accounts", accounts)
  route("/events", subscribe)
  route("/health/live", _ => verdict(live()))
  route("/health/ready", _ => verdict(ready()))
  route("/metrics", _ => Reply(200, metrics.contentType, metrics.scrape()))

  /** Starts serving. */
  def start(): HttpService = {
    server.start()
    log.info(s"serving account totals, the live page, health and metrics at $scheme://${QueryRoute.show(self)}/ " +
      s"(bound to $bindHost:${server.getAddress.getPort})")
    this
  }

  /** The port actually bound. */
  def boundPort: Int = server.getAddress.getPort

  /** Stops serving, waiting at most a second for requests in flight. */
  override def close(): Unit = {
    server.stop(1)
    workers.shutdownNow()
    streamWriters.shutdownNow()
    ()
  }

  private def route(path: String, handler: HttpExchange => Reply): Unit = {
    server.createContext(
      path,
      new HttpHandler {
        override def handle(ex: HttpExchange): Unit = {
          val reply =
            if (ex.getRequestMethod != "GET") Reply.json(405, ServiceJson.error("method_not_allowed", "only GET is served"))
            else
              try handler(ex)
              catch {
                case e: Exception =>
                  log.warn(s"${ex.getRequestURI.getRawPath} failed: $e")
                  Reply.json(500, ServiceJson.error("internal", e.getClass.getSimpleName))
              }
          // No reply: the handler keeps the exchange (an event stream) and closes it itself.
          if (reply != null)
            try send(ex, reply)
            finally ex.close()
        }
      }
    )
    ()
  }

  private def send(ex: HttpExchange, reply: Reply): Unit =
    try {
      val h = ex.getResponseHeaders
      h.set("Content-Type", reply.contentType)
      h.set("Cache-Control", "no-store")
      reply.headers.foreach { case (k, v) => h.set(k, v) }
      ex.sendResponseHeaders(reply.status, if (reply.body.isEmpty) -1 else reply.body.length.toLong)
      if (reply.body.nonEmpty) ex.getResponseBody.write(reply.body)
    } catch { case _: IOException => () } // The client went away.

  private def index(ex: HttpExchange): Reply = {
    val path = ex.getRequestURI.getRawPath
    if (path != "/" && path != "/index.html") Reply.json(404, ServiceJson.error("not_found", s"nothing at $path"))
    else {
      val in = getClass.getResourceAsStream("/txpipe/service/index.html")
      if (in == null) Reply.json(500, ServiceJson.error("internal", "the page is missing from the jar"))
      else
        try Reply(200, "text/html; charset=utf-8", in.readAllBytes())
        finally in.close()
    }
  }

  private def accounts(ex: HttpExchange): Reply = {
    val path = ex.getRequestURI.getRawPath
    if (path == "/accounts" || path == "/accounts/") list(query(ex.getRequestURI.getRawQuery))
    else if (!path.startsWith("/accounts/")) Reply.json(404, ServiceJson.error("not_found", s"nothing at $path"))
    else
      AccountName.fromPath(path.stripPrefix("/accounts/")) match {
        case Left(why) => Reply.json(400, ServiceJson.error("bad_account", why))
        case Right(account) => one(ex, account)
      }
  }

  private def one(ex: HttpExchange, account: String): Reply = {
    val forwarded = ex.getRequestHeaders.containsKey(HopHeader)
    val metadata =
      try ownerOf(account)
      catch { case e: Exception => log.debug(s"owner lookup failed: $e"); KeyQueryMetadata.NOT_AVAILABLE }
    QueryRoute.decide(state(), metadata, self, forwarded) match {
      case QueryRoute.Unavailable(reason) => unavailable(reason)
      case QueryRoute.Local =>
        view.lookup(account) match {
          case CommittedTotals.Found(t) => Reply.json(200, ServiceJson.account(t))
          case CommittedTotals.Missing =>
            Reply.json(404, ServiceJson.error("not_found", s"no committed total for account $account"))
          case CommittedTotals.NotReady(reason) => unavailable(reason)
        }
      case QueryRoute.Forward(owner) => forward(owner, ex.getRequestURI.getRawPath)
    }
  }

  private def forward(owner: HostInfo, rawPath: String): Reply = {
    val request = HttpRequest
      .newBuilder(URI.create(s"$scheme://${owner.host}:${owner.port}$rawPath"))
      .timeout(ForwardTimeout)
      .header(HopHeader, QueryRoute.show(self))
      .GET()
      .build()
    try {
      val r = forwarder.send(request, HttpResponse.BodyHandlers.ofByteArray())
      val retry = r.headers.firstValue("Retry-After")
      Reply(
        r.statusCode,
        r.headers.firstValue("Content-Type").orElse(JsonType),
        r.body,
        (if (retry.isPresent) Seq("Retry-After" -> retry.get) else Nil) :+ (AnsweredByHeader -> QueryRoute.show(owner))
      )
    } catch {
      case e: IOException =>
        unavailable(s"the account's owner ${QueryRoute.show(owner)} did not answer: ${e.getClass.getSimpleName}")
      case _: InterruptedException =>
        Thread.currentThread().interrupt()
        unavailable("interrupted")
    }
  }

  private def list(params: Map[String, String]): Reply = {
    val limit = params.get("limit").map(parseCount)
    val top = params.get("top").map(parseCount)
    val after = params.getOrElse("after", "")
    if (limit.exists(_.isEmpty) || top.exists(_.isEmpty))
      Reply.json(400, ServiceJson.error("bad_request", s"limit and top must be whole numbers from 1 to $MaxPage"))
    else if (after.nonEmpty && AccountName.validate(after).isLeft)
      Reply.json(400, ServiceJson.error("bad_request", s"after: ${AccountName.validate(after).left.getOrElse("")}"))
    else if (!view.caughtUp)
      unavailable(s"this instance is still reading ${view.topic} up to its committed end (${view.catchingUpPartitions} partitions left)")
    else
      top.flatten match {
        case Some(n) => Reply.json(200, ServiceJson.page(view.top(n), None))
        case None =>
          val (page, more) = view.page(after, limit.flatten.getOrElse(MaxPage))
          Reply.json(200, ServiceJson.page(page, if (more && page.nonEmpty) Some(page.last.account) else None))
      }
  }

  private def subscribe(ex: HttpExchange): Reply = {
    val subscriber = new SseSubscriber(ex, TotalsEvents.DefaultQueueDepth, s => events.unsubscribe(s))
    if (!events.subscribe(subscriber)) {
      val reply = unavailable(s"at most ${TotalsEvents.DefaultMaxSubscribers} live pages at once")
      send(ex, reply)
      ex.close()
    } else {
      ex.getResponseHeaders.set("Content-Type", "text/event-stream; charset=utf-8")
      ex.getResponseHeaders.set("Cache-Control", "no-store")
      ex.sendResponseHeaders(200, 0)
      try streamWriters.execute(subscriber)
      catch {
        case _: java.util.concurrent.RejectedExecutionException =>
          events.unsubscribe(subscriber)
          ex.close()
      }
    }
    null
  }

  private def verdict(v: Readiness.Verdict): Reply =
    Reply.json(if (v.ok) 200 else 503, ServiceJson.health(if (v.ok) "ok" else "unavailable", v.state, v.reasons))

  private def unavailable(reason: String): Reply =
    Reply.json(503, ServiceJson.error("unavailable", reason), Seq("Retry-After" -> RetryAfterSeconds.toString))
}

/** Limits and names of the HTTP service. */
object HttpService {

  /** Marks a request one instance forwarded to another: it is answered there or refused, never forwarded again. */
  val HopHeader = "X-Txpipe-Forwarded-By"

  /** Names the instance that answered a forwarded request. */
  val AnsweredByHeader = "X-Txpipe-Answered-By"

  /** The most accounts one page or top list holds (also the default page size). */
  val MaxPage = 1000

  private val JsonType = "application/json; charset=utf-8"
  private val MaxRequestSecondsProperty = "sun.net.httpserver.maxReqTime"
  private val MaxRequestSeconds = 10
  private val NoDelayProperty = "sun.net.httpserver.nodelay"
  private val Workers = 4
  private val WaitingRequests = 64
  private val RetryAfterSeconds = 1
  private val ForwardConnectTimeout = Duration.ofSeconds(2)
  private val ForwardTimeout = Duration.ofSeconds(5)

  /** A response: status, content type, body and extra headers. */
  final case class Reply(status: Int, contentType: String, body: Array[Byte], headers: Seq[(String, String)] = Nil)

  /** Building of replies. */
  object Reply {

    /** A JSON reply. */
    def json(status: Int, body: String, headers: Seq[(String, String)] = Nil): Reply =
      Reply(status, JsonType, body.getBytes(UTF_8), headers)
  }

  /** A count from 1 to [[MaxPage]], or None. */
  def parseCount(text: String): Option[Int] =
    text.toIntOption.filter(n => n >= 1 && n <= MaxPage)

  /** The parameters of a raw query string (form-decoded; the last of a repeated name wins). */
  def query(raw: String): Map[String, String] =
    Option(raw).getOrElse("").split('&').toSeq.filter(_.nonEmpty).flatMap { pair =>
      val i = pair.indexOf('=')
      val (k, v) = if (i < 0) (pair, "") else (pair.substring(0, i), pair.substring(i + 1))
      try Some(URLDecoder.decode(k, UTF_8) -> URLDecoder.decode(v, UTF_8))
      catch { case _: IllegalArgumentException => None }
    }.toMap

  private def daemon(name: String): java.util.concurrent.ThreadFactory = {
    val n = new java.util.concurrent.atomic.AtomicInteger
    (r: Runnable) => {
      val t = new Thread(r, s"$name-${n.incrementAndGet()}")
      t.setDaemon(true)
      t
    }
  }
}
