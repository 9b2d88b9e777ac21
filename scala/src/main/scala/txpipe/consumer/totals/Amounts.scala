package txpipe.consumer.totals

import java.math.{BigDecimal, MathContext, RoundingMode}

/** Exact money arithmetic for amounts that arrive as IEEE doubles. */
object Amounts {

  // 17 significant digits always identify a double uniquely, so the search ends by then.
  private val MaxDigits = 17
  private val Contexts: Array[(MathContext, MathContext, MathContext)] =
    Array.tabulate(MaxDigits + 1) { p =>
      val digits = math.max(p, 1)
      (
        new MathContext(digits, RoundingMode.HALF_EVEN),
        new MathContext(digits, RoundingMode.DOWN),
        new MathContext(digits, RoundingMode.UP)
      )
    }

  // Below 2^45 a double's round-trip interval (one ulp, at most 2^-7 wide) holds at most one
  // multiple of 0.01, so a whole number of cents that converts back to d is the shortest decimal:
  // any shorter one would be a coarser multiple of 0.01 in the same interval, hence the same.
  private val CentsFastPathLimit = math.pow(2, 45)

  /** The shortest decimal that converts back to exactly `d`, as Python's repr would print it. */
  def fromDouble(d: Double): BigDecimal = {
    require(!d.isNaN && !d.isInfinite, s"amount is not a finite number: $d")
    // Money almost always has at most two decimals; this skips the search below, which costs far more.
    if (math.abs(d) < CentsFastPathLimit) {
      val cents = BigDecimal.valueOf(math.round(d * 100), 2)
      if (cents.doubleValue == d) return cents.stripTrailingZeros
    }
    // new BigDecimal(d) is the double's exact binary value; rounding it, rather than trusting
    // Double.toString (which on JDK 17 sometimes prints a digit too many), finds the shortest.
    val exact = new BigDecimal(d)
    var p = 1
    while (p <= MaxDigits) {
      val (nearest, down, up) = Contexts(p)
      val best = exact.round(nearest)
      if (best.doubleValue == d) return best.stripTrailingZeros
      // Next to a power of two the round-trip interval is lopsided: the nearest p-digit
      // decimal can miss it while the neighbour on the other side still lands inside.
      val other = if (best.compareTo(exact.round(down)) == 0) exact.round(up) else exact.round(down)
      if (other.doubleValue == d) return other.stripTrailingZeros
      p += 1
    }
    exact.stripTrailingZeros
  }

  /** A total as plain text with at least two decimals: "1523.40", "0.05", "12.345", "-3.00". */
  def format(total: BigDecimal): String =
    // Whole numbers come out of stripTrailingZeros with a negative scale; max(scale, 2) undoes that.
    total.setScale(math.max(total.scale, 2)).toPlainString

  /** Parses a total written by [[format]] back into the same exact value. */
  def parse(text: String): BigDecimal = new BigDecimal(text)
}
