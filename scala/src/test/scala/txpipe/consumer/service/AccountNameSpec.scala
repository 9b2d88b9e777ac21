package txpipe.consumer.service

import org.scalatest.funsuite.AnyFunSuite

class AccountNameSpec extends AnyFunSuite {

  test("a path segment is percent-decoded; '+' stays a plus sign") {
    assert(AccountName.fromPath("ACC-0007") == Right("ACC-0007"))
    assert(AccountName.fromPath("ACC%200007") == Right("ACC 0007"))
    assert(AccountName.fromPath("a+b") == Right("a+b"))
    assert(AccountName.fromPath("%C3%A9t%C3%A9") == Right("\u00e9t\u00e9"))
  }

  test("empty, control characters, line separators, over-long and broken encodings are refused with a reason") {
    assert(AccountName.fromPath("") == Left("account name is empty"))
    assert(AccountName.fromPath("a%0Ab").left.exists(_.contains("control character")))
    assert(AccountName.fromPath("a%E2%80%A8b").left.exists(_.contains("line separator")))
    assert(AccountName.fromPath("a%00").isLeft)
    assert(AccountName.fromPath("x" * 128).isRight)
    assert(AccountName.fromPath("x" * 129).left.exists(_.contains("over 128 bytes")))
    // Multi-byte characters count by their UTF-8 bytes, as the consumer's field limit does.
    assert(AccountName.fromPath("%C3%A9" * 65).left.exists(_.contains("over 128 bytes")))
    assert(AccountName.fromPath("%zz").left.exists(_.contains("percent-encoding")))
  }
}
