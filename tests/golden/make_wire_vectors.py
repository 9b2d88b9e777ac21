"""Writes wire_vectors.json: golden record values shared by the Python and Scala tests.

The JSON is committed and the tests read it; they never regenerate it. Rerun this only
to add a case on purpose (``python -m tests.golden.make_wire_vectors`` from the repository
root), then review the diff: a changed byte in an existing case means the wire format changed.

Each case has ``stage``: where a consumer must reject it ("frame": the Confluent
framing; "payload": the protobuf bytes; "validation": a decoded Transaction that
breaks a rule; "ok": valid).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.support import wire_format
from txpipe.schema import Transaction
from txpipe.totals import amount_decimal

SCHEMA_ID = 1
OUT = Path(__file__).with_name("wire_vectors.json")

# (name, text): amounts the producer accepts at the edges of what a double carries exactly.
BOUNDARY_AMOUNTS = [
    ("cents_below_2_pow_45", "35184372088831.99"),  # the consumer's cents fast path ends at 2**45
    ("cents_above_2_pow_45", "35184372088832.01"),
    ("negative_cents_below_2_pow_45", "-35184372088831.99"),
    ("cents_17_digits", "123456789012345.67"),
    ("tenths_16_digits", "999999999999999.9"),
    ("issue_example_as_it_arrives", "1234567890123456.8"),
    ("two_pow_53", "9007199254740992"),
    ("max_double", "1.7976931348623157e308"),
    ("smallest_normal", "2.2250738585072014e-308"),
    ("smallest_subnormal", "5e-324"),
    ("ten_pow_300", "1e300"),
]
# What the producer does with an amount's text: sent (and as what decimal) or rejected.
AMOUNT_TEXTS = [
    *[(text, True) for _, text in BOUNDARY_AMOUNTS],
    ("10.50", True),
    ("-0.00", False),
    ("0", False),
    ("1E3", True),
    ("1234567890123456.78", False),
    ("99999999999999.99", False),
    ("9007199254740993", False),
    ("0.1000000000000000055511151231257827", False),
    ("1e-400", False),
    ("2e308", False),
]


def tx(tid: str, account: str, ref: str, seconds: int, nanos: int, amount: float) -> Transaction:
    t = Transaction(transaction_id=tid, account_number=account, transaction_reference=ref, amount=amount)
    t.transaction_datetime.seconds = seconds
    t.transaction_datetime.nanos = nanos
    return t


def tx_json(t: Transaction) -> dict:
    return {
        "transaction_id": t.transaction_id,
        "account_number": t.account_number,
        "transaction_reference": t.transaction_reference,
        "transaction_datetime": {"seconds": t.transaction_datetime.seconds, "nanos": t.transaction_datetime.nanos},
        "amount": t.amount,
    }


def valid(name: str, t: Transaction, shortcut: bool = True) -> dict:
    indexes = (0,)
    value = wire_format.frame(SCHEMA_ID, t.SerializeToString(deterministic=True), indexes, shortcut)
    return {
        "name": name,
        "stage": "ok",
        "valid": True,
        "hex": value.hex(),
        "message_indexes": list(indexes),
        "transaction": tx_json(t),
        "amount_decimal": str(amount_decimal(t.amount)),
    }


def invalid(name: str, value: bytes, stage: str, error: str) -> dict:
    return {"name": name, "stage": stage, "valid": False, "hex": value.hex(), "error": error}


def amount_text(text: str, accepted: bool) -> dict:
    """An amount's text, whether the producer sends it, and the decimal its double is read back as."""
    arrives = repr(float(text))
    exact_and_not_zero = Decimal(arrives) == Decimal(text) != 0
    if accepted != exact_and_not_zero and arrives not in ("inf", "-inf"):
        raise AssertionError(f"{text}: expected accepted={accepted}")
    return {
        "text": text,
        "accepted": accepted,
        "arrives_as": None if arrives in ("inf", "-inf") else str(amount_decimal(float(text))),
    }


def main() -> None:
    base = tx("6f1c2c1e-0000-4000-8000-000000000001", "ACC-0007", "REF-00000000AB", 1767225600, 123000000, 1523.4)
    body = base.SerializeToString(deterministic=True)
    nan_tx = tx("id-nan", "ACC-0001", "REF-1", 1767225600, 0, float("nan"))
    inf_tx = tx("id-inf", "ACC-0001", "REF-1", 1767225600, 0, float("-inf"))
    empty_acc = tx("id-empty-account", "", "REF-1", 1767225600, 0, 10.0)
    # proto3 leaves an amount of 0.0 out of the bytes: what a producer that forgot the amount sends.
    no_amount = tx("id-no-amount", "ACC-0001", "REF-1", 1767225600, 0, 0.0)
    cases = [
        valid("index_shortcut", base),
        valid("explicit_index_array", base, shortcut=False),
        valid("shortest_decimal_not_float_sum", tx("id-2", "ACC-0002", "", 0, 0, 0.1 + 0.2)),
        valid("refund", tx("id-3", "ACC-0003", "REF-3", 1767225601, 999999999, -42.5)),
        valid("tiny_amount", tx("id-4", "ACC-0004", "REF-4", 1767225602, 0, 2.5e-05)),
        valid("large_amount", tx("id-5", "ACC-0005", "REF-5", 1767225603, 0, 123456789.12)),
        valid("defaults_omitted", tx("id-6", "ACC-0006", "", 0, 0, 0.06)),
        valid("unicode_text", tx("id-7", "ACC-Ü-0007", "Référence €", 1767225604, 1, 0.07)),
        # The amount rule's boundaries (issue 20): doubles the producer sends from these texts,
        # each read back to the same shortest decimal on both sides.
        *[
            valid(f"amount_boundary_{name}", tx(f"id-b{n}", "ACC-0008", "", 1767225605, 0, float(text)))
            for n, (name, text) in enumerate(BOUNDARY_AMOUNTS)
        ],
        invalid("empty_value", b"", "frame", "too_short"),
        invalid("four_bytes", b"\x00\x00\x00\x00", "frame", "too_short"),
        invalid("header_only", b"\x00\x00\x00\x00\x01", "frame", "too_short"),
        invalid("bad_magic_byte", b"\x01\x00\x00\x00\x01\x00" + body, "frame", "magic"),
        invalid("index_varint_runs_off_end", b"\x00\x00\x00\x00\x01\xff", "frame", "message_index"),
        invalid("negative_index_count", b"\x00\x00\x00\x00\x01\x01" + body, "frame", "message_index"),
        invalid("index_count_past_end", b"\x00\x00\x00\x00\x01\x06\x00", "frame", "message_index"),
        invalid("truncated_protobuf", wire_format.frame(SCHEMA_ID, body[:-3]), "payload", "protobuf"),
        invalid(
            "random_bytes_as_payload", wire_format.frame(SCHEMA_ID, bytes.fromhex("ffffffffffffffffffff")), "payload", "protobuf"
        ),
        invalid("nan_amount", wire_format.frame(SCHEMA_ID, nan_tx.SerializeToString(deterministic=True)), "validation", "amount"),
        invalid("missing_amount", wire_format.frame(SCHEMA_ID, no_amount.SerializeToString()), "validation", "amount"),
        invalid(
            "infinite_amount", wire_format.frame(SCHEMA_ID, inf_tx.SerializeToString(deterministic=True)), "validation", "amount"
        ),
        invalid(
            "empty_account_number",
            wire_format.frame(SCHEMA_ID, empty_acc.SerializeToString(deterministic=True)),
            "validation",
            "account_number",
        ),
    ]
    doc = {
        "description": "Confluent protobuf framing of txpipe.v1.Transaction; see tests/golden/make_wire_vectors.py",
        "schema_id": SCHEMA_ID,
        "schema_proto_file": "transaction.proto",
        "cases": cases,
        "amount_texts": [amount_text(text, accepted) for text, accepted in AMOUNT_TEXTS],
    }
    OUT.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
