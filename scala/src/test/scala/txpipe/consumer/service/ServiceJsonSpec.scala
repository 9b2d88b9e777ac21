package txpipe.consumer.service

import com.fasterxml.jackson.databind.ObjectMapper
import org.scalatest.funsuite.AnyFunSuite

class ServiceJsonSpec extends AnyFunSuite {

  private val mapper = new ObjectMapper()

  test("an account's total is a JSON string, exactly as committed, never a number") {
    val json = ServiceJson.account(CommittedTotal("ACC-0007", "1523.40", 42))
    assert(json == """{"account":"ACC-0007","total":"1523.40","transactions":42}""")
    val tree = mapper.readTree(json)
    assert(tree.get("total").isTextual && tree.get("total").asText == "1523.40")
    // Digits a double cannot hold survive.
    val big = ServiceJson.account(CommittedTotal("A", "90071992547409931.07", 1))
    assert(mapper.readTree(big).get("total").asText == "90071992547409931.07")
  }

  test("names with quotes, backslashes and non-ASCII are escaped") {
    val tree = mapper.readTree(ServiceJson.account(CommittedTotal("a\"b\\c\u00e9", "-0.01", 1)))
    assert(tree.get("account").asText == "a\"b\\c\u00e9" && tree.get("total").asText == "-0.01")
  }

  test("a page carries its accounts and the cursor to continue after (null at the end)") {
    val page = mapper.readTree(ServiceJson.page(Seq(CommittedTotal("A", "1.00", 1), CommittedTotal("B", "2.00", 2)), Some("B")))
    assert(page.get("accounts").size == 2 && page.get("next").asText == "B")
    assert(page.get("accounts").get(1).get("total").isTextual)
    assert(mapper.readTree(ServiceJson.page(Nil, None)).get("next").isNull)
  }

  test("errors and health answers name their reason") {
    val e = mapper.readTree(ServiceJson.error("unavailable", "a rebalance is in progress"))
    assert(e.get("reason").asText == "a rebalance is in progress")
    val h = mapper.readTree(ServiceJson.health("unavailable", "REBALANCING", Seq("x", "y")))
    assert(h.get("state").asText == "REBALANCING" && h.get("reasons").size == 2)
  }
}
