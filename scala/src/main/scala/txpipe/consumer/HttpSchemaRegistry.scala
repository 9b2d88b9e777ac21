package txpipe.consumer

import java.io.IOException
import java.net.URI
import java.net.http.{HttpClient, HttpRequest, HttpResponse}
import java.time.Duration
import java.util.concurrent.ConcurrentHashMap

import com.fasterxml.jackson.databind.ObjectMapper
import org.slf4j.LoggerFactory

/** A Confluent-compatible schema registry reached over HTTP, with every answer cached per id.
  *
  * @param registryUrl base URL, possibly with a path (e.g. `http://127.0.0.1:8081/apis/ccompat/v7`)
  */
final class HttpSchemaRegistry(
    registryUrl: String,
    requestTimeout: Duration = Duration.ofSeconds(10),
    initialBackoff: Duration = Duration.ofMillis(500),
    maxBackoff: Duration = Duration.ofSeconds(30)
) extends SchemaRegistry
    with AutoCloseable {

  import HttpSchemaRegistry._

  private val log = LoggerFactory.getLogger(classOf[HttpSchemaRegistry])
  private val base = registryUrl.stripSuffix("/")
  private val client = HttpClient
    .newBuilder()
    .connectTimeout(Duration.ofSeconds(5))
    .followRedirects(HttpClient.Redirect.NORMAL)
    .build()
  private val mapper = new ObjectMapper()
  // Schemas under an id never change, so both answers (found and 404) are kept for good.
  private val cache = new ConcurrentHashMap[Integer, Option[RegisteredSchema]]()
  private val closeLock = new Object
  @volatile private var closed = false

  /** The schema under `id`; blocks, retrying with backoff, while the registry cannot answer. */
  override def schemaById(id: Int): Option[RegisteredSchema] = {
    val cached = cache.get(id)
    if (cached != null) cached
    else {
      val fetched = fetchUntilAnswered(id)
      // Records naming ever new ids (a hostile or broken producer) must not grow it for months.
      if (cache.size >= HttpSchemaRegistry.MaxCachedIds) cache.clear()
      cache.put(id, fetched)
      fetched
    }
  }

  /** Stops retrying: a lookup still waiting for the registry fails instead of blocking shutdown. */
  override def close(): Unit = closeLock.synchronized {
    closed = true
    closeLock.notifyAll()
  }

  private def fetchUntilAnswered(id: Int): Option[RegisteredSchema] = {
    val uri = URI.create(s"$base/schemas/ids/$id")
    var backoff = initialBackoff
    var attempt = 1
    while (true) {
      if (closed) throw new IllegalStateException(s"schema registry client closed while looking up schema id $id")
      fetchOnce(uri) match {
        case Answered(result) => return result
        case Unavailable(why) =>
          // Skipping the record would lose it, so a registry outage stalls processing instead.
          log.warn(s"schema registry cannot answer for schema id $id at $uri ($why); retrying in ${backoff.toMillis} ms (attempt $attempt)")
          pause(backoff)
          backoff = if (backoff.multipliedBy(2).compareTo(maxBackoff) > 0) maxBackoff else backoff.multipliedBy(2)
          attempt += 1
      }
    }
    throw new IllegalStateException("unreachable")
  }

  private def fetchOnce(uri: URI): Outcome = {
    val request = HttpRequest
      .newBuilder(uri)
      .timeout(requestTimeout)
      .header("Accept", "application/vnd.schemaregistry.v1+json, application/json")
      .GET()
      .build()
    try {
      val response = client.send(request, HttpResponse.BodyHandlers.ofString())
      response.statusCode() match {
        case 200 => parseBody(response.body())
        case 404 => Answered(None)
        // 5xx, 429 and even 401/403 mean "cannot tell now", never "no such schema".
        case status => Unavailable(s"HTTP $status: ${abbreviate(response.body())}")
      }
    } catch {
      case e: IOException => Unavailable(s"${e.getClass.getSimpleName}: ${e.getMessage}")
    }
  }

  private def parseBody(body: String): Outcome =
    try {
      val json = mapper.readTree(body)
      val schema = json.get("schema")
      if (schema == null || !schema.isTextual) Unavailable(s"answer has no schema field: ${abbreviate(body)}")
      else {
        val schemaType = Option(json.get("schemaType")).filter(_.isTextual).map(_.asText).getOrElse("")
        Answered(Some(RegisteredSchema(schemaType, schema.asText)))
      }
    } catch {
      case e: IOException => Unavailable(s"answer is not JSON (${e.getMessage}): ${abbreviate(body)}")
    }

  private def pause(d: Duration): Unit = closeLock.synchronized {
    if (!closed) closeLock.wait(math.max(1L, d.toMillis))
  }
}

private object HttpSchemaRegistry {
  private val MaxCachedIds = 10000
  private sealed trait Outcome
  private final case class Answered(result: Option[RegisteredSchema]) extends Outcome
  private final case class Unavailable(reason: String) extends Outcome

  private def abbreviate(s: String): String = {
    val oneLine = s.replaceAll("\\s+", " ").trim
    if (oneLine.length <= 200) oneLine else oneLine.take(200) + "..."
  }
}
