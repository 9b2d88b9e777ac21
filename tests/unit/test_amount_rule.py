"""The amount rule (issue 20), as properties: an amount's text is sent only if the consumer's decimal
for the double it becomes is the text's value, and it is not zero (which proto3 sends as no amount);
and every non-zero amount with 15 significant digits or fewer (any ledger's) is sent."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.support import wire_format
from txpipe.input_file import ZERO_AMOUNT, parse_amount
from txpipe.schema import Transaction
from txpipe.totals import amount_decimal

digits = st.text("0123456789", min_size=1, max_size=30)


@st.composite
def decimal_texts(draw) -> str:
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = draw(digits)
    frac = draw(st.one_of(st.none(), st.text("0123456789", max_size=30)))
    # Now and then an exponent far past the double's, and past what a decimal holds (about ±10**18).
    exp = draw(st.one_of(st.none(), st.integers(-340, 320), st.integers(-(10**20), 10**20)))
    text = sign + whole + ("" if frac is None else "." + frac)
    return text if exp is None else f"{text}{draw(st.sampled_from('eE'))}{exp}"


def _exact(text: str) -> Decimal | None:
    """The text's value, or None when its exponent is past what a decimal holds."""
    try:
        return Decimal(text)
    except ArithmeticError:
        return None


def _consumers_decimal(amount: float) -> Decimal:
    """The decimal the consumer totals: the double as it comes off the wire, to its shortest decimal."""
    tx = Transaction(transaction_id="t", account_number="A", amount=amount)
    value = wire_format.frame(1, tx.SerializeToString())
    return amount_decimal(Transaction.FromString(wire_format.parse(value).payload).amount)


@settings(max_examples=800, deadline=None)
@given(decimal_texts())
@example("1234567890123456.78")
@example("0.1000000000000000055511151231257827")
@example("9007199254740993")
@example("1e-400")
@example("5e-324")
@example("1.7976931348623157e308")
@example("1.7976931348623159e308")
@example("-0.000")
@example("0")
@example("35184372088831.99")
@example("1e-3000000000000000000")
@example("0e1000000000000000000")
@example("1e999999999999999999")
@example("1e-999999999999999999")
@example("-0.0E-9223372036854775809")
@example("1.5e+18446744073709551616")
def test_an_amount_is_sent_only_if_the_consumer_reads_back_its_exact_value(text):
    try:
        amount = parse_amount(text)
    except ValueError as exc:
        message = str(exc)
        value = float(text)
        if not math.isfinite(value):
            assert "beyond the range of the schema's double" in message
        elif _exact(text) is None:
            assert message.startswith(f"{text!r} is out of range")
        elif Decimal(text) == 0:
            assert message == f"{text!r} is zero: {ZERO_AMOUNT}"
        else:
            arrives = repr(value)
            assert message == f"{text!r} cannot be carried exactly by the schema's double (it would arrive as {arrives})"
            assert Decimal(arrives) != Decimal(text)
        return
    assert _consumers_decimal(amount) == Decimal(text)


@settings(max_examples=800, deadline=None)
@given(st.integers(1, 10**15 - 1), st.integers(-290, 290), st.booleans(), st.integers(0, 3))
def test_every_amount_of_at_most_15_significant_digits_is_sent(significand, exponent, negative, zeros):
    text = ("-" if negative else "") + str(Decimal(significand).scaleb(exponent))
    if "E" not in text and "." in text:
        text += "0" * zeros  # trailing zeros do not change the value
    assert _consumers_decimal(parse_amount(text)) == Decimal(text)


@given(st.sampled_from(["NaN", "nan", "inf", "-Infinity", "1_000", "0x10", "١٢", "1,5", "", " ", "1e", ".", "--1", "1.2.3"]))
def test_text_that_is_not_a_plain_decimal_is_rejected(text):
    try:
        parse_amount(text)
    except ValueError as exc:
        assert "not a number" in str(exc) or "not a finite amount" in str(exc)
    else:
        raise AssertionError(f"{text!r} was accepted")
