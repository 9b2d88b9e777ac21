package txpipe.consumer.service

import com.fasterxml.jackson.databind.ObjectMapper
import com.fasterxml.jackson.databind.node.{ArrayNode, ObjectNode}

/** The JSON bodies of the HTTP service. Totals are always strings: a JSON number would be read as a
  * binary float by most clients, and money must stay exact. */
object ServiceJson {

  private val mapper = new ObjectMapper()

  /** `{"account": ..., "total": "...", "transactions": n}`. */
  def account(t: CommittedTotal): String = mapper.writeValueAsString(node(t))

  /** A page of accounts, with the account to continue after when there may be more. */
  def page(accounts: Seq[CommittedTotal], next: Option[String]): String = {
    val o = mapper.createObjectNode()
    o.set[ArrayNode]("accounts", array(accounts))
    next match {
      case Some(n) => o.put("next", n)
      case None => o.putNull("next")
    }
    mapper.writeValueAsString(o)
  }

  /** `{"error": ..., "reason": ...}`. */
  def error(error: String, reason: String): String = {
    val o = mapper.createObjectNode()
    o.put("error", error)
    o.put("reason", reason)
    mapper.writeValueAsString(o)
  }

  /** A health answer: `{"status": ..., "state": ..., "reasons": [...]}`. */
  def health(status: String, state: String, reasons: Seq[String]): String = {
    val o = mapper.createObjectNode()
    o.put("status", status)
    o.put("state", state)
    val r = o.putArray("reasons")
    reasons.foreach(r.add)
    mapper.writeValueAsString(o)
  }

  /** One live-page event: the rate, the top accounts and the accounts changed since the last one. */
  def event(
      counted: Long,
      rate: Double,
      accounts: Int,
      catchingUp: Int,
      top: Seq[CommittedTotal],
      changes: Seq[CommittedTotal]): String = {
    val o = mapper.createObjectNode()
    o.put("counted", counted)
    o.put("rate", math.round(rate * 10) / 10.0)
    o.put("accounts", accounts)
    o.put("catchingUp", catchingUp)
    o.set[ArrayNode]("top", array(top))
    o.set[ArrayNode]("changes", array(changes))
    mapper.writeValueAsString(o)
  }

  private def array(ts: Seq[CommittedTotal]): ArrayNode = {
    val a = mapper.createArrayNode()
    ts.foreach(t => a.add(node(t)))
    a
  }

  private def node(t: CommittedTotal): ObjectNode = {
    val o = mapper.createObjectNode()
    o.put("account", t.account)
    o.put("total", t.total)
    o.put("transactions", t.transactions)
    o
  }
}
