"""Exact money arithmetic shared by the producer's ground truth and the tests.

The wire carries ``amount`` as a double (the brief's schema). Both sides turn it into
the shortest decimal that round-trips to the same double (Python's ``repr``; the
Scala consumer computes the same thing) and only ever add decimals, so a total of a
million transactions is exact to the cent.
"""

from __future__ import annotations

import math
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded

_TWO_PLACES = Decimal("0.01")
_ZERO = Decimal(0)
# Sums and formatting never round: the default context keeps 28 digits, so 1e300 + 0.01 lost the
# cents and 1e300 could not be formatted. Every sum of doubles has at most about 1,100 digits, and
# Inexact/Rounded trap, so a rounding would be an error, never a silently different total.
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact, Rounded, Overflow])


def amount_decimal(amount: float) -> Decimal:
    """The shortest decimal that round-trips to ``amount``; rejects NaN and infinities."""
    if not math.isfinite(amount):
        raise ValueError(f"amount must be a finite number, got {amount!r}")
    return Decimal(repr(float(amount)))


def format_total(total: Decimal) -> str:
    """Plain decimal text with at least two places, e.g. ``1523.40``; never an exponent."""
    if total.as_tuple().exponent > -2:  # type: ignore[operator]
        total = total.quantize(_TWO_PLACES, context=EXACT)
    return format(total, "f")


class RunningTotals:
    """Per-account exact sums and counts, in the order the amounts were added."""

    def __init__(self) -> None:
        self.totals: dict[str, Decimal] = {}
        self.counts: dict[str, int] = {}

    def add(self, account: str, amount: float) -> Decimal:
        """Adds one transaction's amount to its account and returns the new total."""
        total = EXACT.add(self.totals.get(account, _ZERO), amount_decimal(amount))
        self.totals[account] = total
        self.counts[account] = self.counts.get(account, 0) + 1
        return total

    def formatted(self) -> dict[str, str]:
        """Every account's total as the consumer prints it."""
        return {acc: format_total(t) for acc, t in sorted(self.totals.items())}
