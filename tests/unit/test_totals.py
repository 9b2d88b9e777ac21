from decimal import Decimal

import pytest

from txpipe.totals import EXACT, RunningTotals, amount_decimal, format_total


def test_ten_dimes_make_exactly_one():
    totals = RunningTotals()
    for _ in range(10):
        totals.add("A", 0.1)
    assert totals.totals["A"] == Decimal("1.0")
    assert totals.formatted() == {"A": "1.00"}
    assert sum([0.1] * 10) != 1.0  # the float sum this module exists to avoid


@pytest.mark.parametrize(
    "amount,text",
    [(0.1, "0.1"), (1523.4, "1523.4"), (0.1 + 0.2, "0.30000000000000004"), (2.5e-05, "0.000025"), (-42.5, "-42.5")],
)
def test_amount_is_the_shortest_round_trip_decimal(amount, text):
    assert amount_decimal(amount) == Decimal(text)
    assert float(amount_decimal(amount)) == amount


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_amounts_are_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        amount_decimal(bad)


@pytest.mark.parametrize(
    "total,text",
    [("1523.4", "1523.40"), ("0", "0.00"), ("12.345", "12.345"), ("-3", "-3.00"), ("1E+3", "1000.00"), ("0.000025", "0.000025")],
)
def test_format_is_plain_with_at_least_two_places(total, text):
    assert format_total(Decimal(total)) == text


def test_counts_follow_adds():
    totals = RunningTotals()
    assert totals.add("A", 1.5) == Decimal("1.5")
    assert totals.add("A", -0.5) == Decimal("1.0")
    totals.add("B", 2.0)
    assert totals.counts == {"A": 2, "B": 1}


def test_the_doubles_extremes_add_and_format_exactly():
    # Any finite double the producer sends, however large or small, adds and formats without a trap.
    totals = RunningTotals()
    for amount in (5e-324, 1.7976931348623157e308, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308):
        totals.add("A", amount)
    expected = EXACT.add(Decimal("3.5953862697246314e308"), Decimal("2.2250738585072014e-308"))
    assert totals.totals["A"] == expected
    assert Decimal(totals.formatted()["A"]) == expected
