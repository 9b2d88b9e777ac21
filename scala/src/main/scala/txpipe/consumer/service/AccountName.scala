package txpipe.consumer.service

import java.net.URLDecoder
import java.nio.charset.StandardCharsets.UTF_8

import txpipe.consumer.decoding.{FieldLimits, TransactionDecoder}

/** Account names as they arrive in a URL path: percent-decoded and checked, so a lookup never
  * carries control characters or unbounded input further. */
object AccountName {

  /** The account named by a raw (still percent-encoded) path segment, or why it is not one. */
  def fromPath(raw: String): Either[String, String] = {
    // A path segment keeps '+' as itself; URLDecoder would read it as a space (form encoding).
    val decoded =
      try Right(URLDecoder.decode(raw.replace("+", "%2B"), UTF_8))
      catch { case _: IllegalArgumentException => Left("account name is not valid percent-encoding") }
    decoded.flatMap(validate)
  }

  /** `account` if it could be one the consumer totals (non-empty, printable, within the field limit). */
  def validate(account: String): Either[String, String] =
    if (account.isEmpty) Left("account name is empty")
    else if (account.getBytes(UTF_8).length > FieldLimits.MaxAccountBytes)
      Left(s"account name is over ${FieldLimits.MaxAccountBytes} bytes")
    else if (TransactionDecoder.unprintable(account)) Left("account name holds a control character or line separator")
    else Right(account)
}
