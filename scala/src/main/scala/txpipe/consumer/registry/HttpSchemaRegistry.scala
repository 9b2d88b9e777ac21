package txpipe.consumer.registry

import java.io.IOException
import java.net.URI
import java.net.http.{HttpClient, HttpRequest, HttpResponse}
import java.nio.charset.StandardCharsets.UTF_8
import java.time.Duration
import java.util.Base64
import java.util.concurrent.ConcurrentHashMap

import com.fasterxml.jackson.databind.ObjectMapper
import org.slf4j.LoggerFactory
import txpipe.consumer.security.RegistryClientSettings

/** A Confluent-compatible schema registry reached over HTTP.
  *
  * A schema found under an id is kept (ids are immutable). An id the registry says it does not
  * know (404) is asked again with backoff for up to `missingWait`, as a schema just registered
  * may not have reached the replica answering yet; then the answer is "unknown" for
  * `missingTtl`, after which it is asked again: a registry that lost its schemas and got them
  * back is believed. Credentials in the URL (`https://user:pass@host/...`) are sent as HTTP basic
  * auth and never logged.
  *
  * @param registryUrl base URL, possibly with a path (e.g. `http://127.0.0.1:8081/apis/ccompat/v7`)
  * @param onRequest told of every schema lookup sent: its outcome (`ok`, `not_found`, `refused`,
  *   `error`) and how long it took in nanoseconds, for the metrics
  */
final class HttpSchemaRegistry(
    registryUrl: String,
    requestTimeout: Duration = Duration.ofSeconds(10),
    initialBackoff: Duration = Duration.ofMillis(500),
    maxBackoff: Duration = Duration.ofSeconds(30),
    missingWait: Duration = HttpSchemaRegistry.DefaultMissingWait,
    missingTtl: Duration = Duration.ofSeconds(30),
    clock: () => Long = () => System.nanoTime(),
    settings: RegistryClientSettings = RegistryClientSettings.Default,
    onRequest: (String, Long) => Unit = (_, _) => (),
    maxCachedIds: Int = HttpSchemaRegistry.MaxCachedIds
) extends SchemaRegistry
    with AutoCloseable {

  import HttpSchemaRegistry._

  private val log = LoggerFactory.getLogger(classOf[HttpSchemaRegistry])
  private val parsed = URI.create(registryUrl.stripSuffix("/"))
  // Credentials in the URL win over the client config's: they are the more specific.
  private val urlCredentials = Option(parsed.getRawUserInfo).filter(_.nonEmpty).map(info => java.net.URLDecoder.decode(info, UTF_8))
  private val authorization: Option[String] =
    urlCredentials.orElse(settings.basicAuth).map(info => "Basic " + Base64.getEncoder.encodeToString(info.getBytes(UTF_8)))
  private val base: String =
    new URI(parsed.getScheme, null, parsed.getHost, parsed.getPort, parsed.getPath, null, null).toString.stripSuffix("/")

  /** The base URL as logs show it: without credentials. */
  val shownUrl: String = base

  private val client = {
    val b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NORMAL)
    settings.sslContext.foreach(b.sslContext)
    b.build()
  }
  private val mapper = new ObjectMapper()
  private val found = new ConcurrentHashMap[Integer, RegisteredSchema]()
  // Ids the registry said it does not know, with when (clock) that answer stops counting.
  private val missing = new ConcurrentHashMap[Integer, java.lang.Long]()
  // Until then, a new unknown id is asked once and not waited for: a producer writing ever new
  // ids must not hold the stream thread for missingWait on each of them.
  @volatile private var noWaitUntil = clock() - 1
  private val closeLock = new Object
  @volatile private var closed = false

  /** The schema under `id`, or None if the registry does not know it (after the wait above).
    * Blocks, retrying with backoff, while the registry cannot answer at all. */
  override def schemaById(id: Int): Option[RegisteredSchema] = {
    val known = found.get(id)
    if (known != null) return Some(known)
    val now = clock()
    val missingUntil = missing.get(id)
    if (missingUntil != null && now - missingUntil < 0) return None
    val mayWait = missingUntil == null && now - noWaitUntil >= 0
    lookUp(id, if (mayWait) missingWait else Duration.ZERO) match {
      case Some(schema) =>
        // Records naming ever new ids (a hostile or broken producer) must not grow it for months.
        if (found.size >= maxCachedIds) found.clear()
        found.put(id, schema)
        missing.remove(id)
        Some(schema)
      case None =>
        val after = clock()
        if (missing.size >= maxCachedIds) missing.clear()
        missing.put(id, after + missingTtl.toNanos)
        if (mayWait) noWaitUntil = after + missingTtl.toNanos
        None
    }
  }

  /** The schema ids held, found and missing together: for tests of the bound. */
  private[consumer] def cachedIds: Int = found.size + missing.size

  /** Checks, until `deadlineNanos` (System.nanoTime), that the URL answers the Confluent API;
    * Left(why) at once for an answer that retrying cannot change (wrong path, refused credentials). */
  def probe(deadlineNanos: Long): Either[String, Unit] = {
    val uri = URI.create(s"$base/schemas/types")
    var backoff = initialBackoff
    while (true) {
      val outcome = send(uri) match {
        case Right((200, body)) if looksLikeTypes(body) => return Right(())
        case Right((200, body)) =>
          return Left(s"$uri answered HTTP 200 with something other than the Confluent API's list of schema types " +
            s"(${abbreviate(body)}): ${PathHint}")
        case Right((404, _)) =>
          return Left(s"schema registry at $shownUrl does not answer the Confluent API (GET $uri: HTTP 404): $PathHint")
        case Right((status @ (401 | 403), _)) => return Left(authMessage(status))
        case Right((status, body)) => s"HTTP $status: ${abbreviate(body)}"
        case Left(why) => why
      }
      if (System.nanoTime() - deadlineNanos >= 0) return Left(s"schema registry at $shownUrl did not answer in time ($outcome)")
      log.info(s"waiting for the schema registry at $shownUrl ($outcome)")
      pause(backoff)
      if (closed) return Left("stopped while waiting for the schema registry")
      backoff = if (backoff.multipliedBy(2).compareTo(maxBackoff) > 0) maxBackoff else backoff.multipliedBy(2)
    }
    Left("unreachable")
  }

  /** One quick request to the registry (its list of schema types), for health checks: Right when
    * it answered 200, else why not. Never blocks longer than `timeout` and never throws. */
  def ping(timeout: Duration): Either[String, Unit] = {
    val builder = HttpRequest.newBuilder(URI.create(s"$base/schemas/types")).timeout(timeout)
    authorization.foreach(builder.header("Authorization", _))
    try {
      val status = client.send(builder.GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode()
      if (status == 200) Right(()) else Left(s"schema registry at $shownUrl answered HTTP $status")
    } catch {
      case _: InterruptedException =>
        Thread.currentThread().interrupt()
        Left("interrupted")
      case e: Exception => Left(s"schema registry at $shownUrl cannot be reached: ${e.getClass.getSimpleName}")
    }
  }

  /** Ends every wait for the registry, for a shutdown: a lookup still asks once, and where it would
    * wait (an outage, or a 404 it would ask again) it throws RegistryLookupAbandoned instead. */
  def stopWaiting(): Unit = closeLock.synchronized {
    closed = true
    closeLock.notifyAll()
  }

  /** Same as stopWaiting: the HTTP client holds nothing that needs releasing. */
  override def close(): Unit = stopWaiting()

  // The schema, or None once the registry has said 404 for `waitForMissing`.
  private def lookUp(id: Int, waitForMissing: Duration): Option[RegisteredSchema] = {
    val uri = URI.create(s"$base/schemas/ids/$id")
    val giveUpOnMissing = clock() + waitForMissing.toNanos
    var backoff = initialBackoff
    var attempt = 1
    while (true) {
      // The first ask is always sent: while Streams closes, its last records may name a schema not yet seen.
      if (closed && attempt > 1) throw new RegistryLookupAbandoned(s"stopped while looking up schema id $id at $shownUrl")
      val started = System.nanoTime()
      val answer =
        try send(uri)
        catch {
          case e: SchemaRegistryException =>
            onRequest("error", System.nanoTime() - started)
            throw e
        }
      onRequest(lookupOutcome(answer), System.nanoTime() - started)
      val retryBecause = answer match {
        case Right((200, body)) =>
          parseBody(body) match {
            case Right(schema) => return Some(schema)
            case Left(why) => why
          }
        case Right((404, _)) =>
          if (clock() - giveUpOnMissing >= 0) return None
          s"HTTP 404: not there (yet); asking again for up to ${waitForMissing.toMillis} ms"
        case Right((status @ (401 | 403), _)) => throw new RegistryAuthenticationFailed(authMessage(status))
        // 5xx, 429 and the like mean "cannot tell now", never "no such schema".
        case Right((status, body)) => s"HTTP $status: ${abbreviate(body)}"
        case Left(why) => why
      }
      if (closed) throw new RegistryLookupAbandoned(s"stopped while looking up schema id $id at $shownUrl ($retryBecause)")
      // Skipping the record would lose it, so a registry outage stalls processing instead.
      log.warn(s"schema registry at $shownUrl cannot answer for schema id $id ($retryBecause); retrying in ${backoff.toMillis} ms (attempt $attempt)")
      val sleep = if (retryBecause.startsWith("HTTP 404")) min(backoff, remaining(giveUpOnMissing)) else backoff
      pause(sleep)
      backoff = min(backoff.multipliedBy(2), maxBackoff)
      attempt += 1
    }
    None
  }

  private def send(uri: URI): Either[String, (Int, String)] = {
    val builder = HttpRequest
      .newBuilder(uri)
      .timeout(requestTimeout)
      .header("Accept", "application/vnd.schemaregistry.v1+json, application/json")
    authorization.foreach(builder.header("Authorization", _))
    try {
      val response = client.send(builder.GET().build(), HttpResponse.BodyHandlers.ofString())
      Right((response.statusCode(), response.body()))
    } catch {
      // An untrusted certificate does not heal by itself: stop with one line instead of retrying.
      case e: javax.net.ssl.SSLHandshakeException =>
        throw new RegistryTrustFailed(
          s"TLS handshake with the schema registry at $shownUrl failed (${e.getMessage}): its certificate must be " +
            s"signed by a CA in schema.registry.ssl.truststore.location (--client-config)")
      case e: IOException => Left(s"${e.getClass.getSimpleName}: ${e.getMessage}")
      case _: InterruptedException =>
        Thread.currentThread().interrupt()
        throw new RegistryLookupAbandoned(s"interrupted while asking the schema registry at $shownUrl")
    }
  }

  private def lookupOutcome(answer: Either[String, (Int, String)]): String = answer match {
    case Right((200, _)) => "ok"
    case Right((404, _)) => "not_found"
    case Right((401 | 403, _)) => "refused"
    case _ => "error"
  }

  private def authMessage(status: Int): String =
    s"schema registry at $shownUrl refused the consumer (HTTP $status): " +
      (if (urlCredentials.isDefined) "check the credentials given with the registry URL"
       else if (authorization.isDefined) "check schema.registry.basic.auth.user.info in the client config"
       else "set schema.registry.basic.auth.user.info in --client-config: it needs credentials, and none were given")

  private def looksLikeTypes(body: String): Boolean =
    try mapper.readTree(body).isArray
    catch { case _: IOException => false }

  private def parseBody(body: String): Either[String, RegisteredSchema] =
    try {
      val json = mapper.readTree(body)
      val schema = json.get("schema")
      if (schema == null || !schema.isTextual) Left(s"answer has no schema field: ${abbreviate(body)}")
      else {
        val schemaType = Option(json.get("schemaType")).filter(_.isTextual).map(_.asText).getOrElse("")
        Right(RegisteredSchema(schemaType, schema.asText))
      }
    } catch {
      case e: IOException => Left(s"answer is not JSON (${e.getMessage}): ${abbreviate(body)}")
    }

  private def remaining(untilNanos: Long): Duration = Duration.ofNanos(math.max(1000000L, untilNanos - clock()))

  private def min(a: Duration, b: Duration): Duration = if (a.compareTo(b) <= 0) a else b

  private def pause(d: Duration): Unit = closeLock.synchronized {
    if (!closed) closeLock.wait(math.max(1L, d.toMillis))
  }
}

/** Defaults of the registry client. */
object HttpSchemaRegistry {

  /** How long a schema id the registry does not know is asked again before its record goes to the DLQ. */
  val DefaultMissingWait: Duration = Duration.ofSeconds(5)

  /** The most schema ids kept found, and the most kept missing. */
  private val MaxCachedIds = 10000

  private val PathHint = "give the registry's Confluent-compatible base URL; with the bundled registry (Apicurio) " +
    "it ends in /apis/ccompat/v7, e.g. http://schema-registry:8081/apis/ccompat/v7"

  private def abbreviate(s: String): String = {
    val oneLine = s.replaceAll("\\s+", " ").trim
    if (oneLine.length <= 200) oneLine else oneLine.take(200) + "..."
  }
}
