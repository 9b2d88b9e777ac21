"""Writes wire_vectors.json: golden record values shared by the Python and Scala tests.

The JSON is committed and the tests read it; they never regenerate it. Rerun this only
to add a case on purpose (``python tests/golden/make_wire_vectors.py``), then review the diff:
a changed byte in an existing case means the wire format changed.

Each case has ``stage``: where a consumer must reject it ("frame": the Confluent
framing; "payload": the protobuf bytes; "validation": a decoded Transaction that
breaks a rule; "ok": valid).
"""

from __future__ import annotations

import json
from pathlib import Path

from txpipe import wire_format
from txpipe.schema import Transaction
from txpipe.totals import amount_decimal

SCHEMA_ID = 1
OUT = Path(__file__).with_name("wire_vectors.json")


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
    return {"name": name, "stage": "ok", "valid": True, "hex": value.hex(), "message_indexes": list(indexes),
            "transaction": tx_json(t), "amount_decimal": str(amount_decimal(t.amount))}


def invalid(name: str, value: bytes, stage: str, error: str) -> dict:
    return {"name": name, "stage": stage, "valid": False, "hex": value.hex(), "error": error}


def main() -> None:
    base = tx("6f1c2c1e-0000-4000-8000-000000000001", "ACC-0007", "REF-00000000AB", 1767225600, 123000000, 1523.4)
    body = base.SerializeToString(deterministic=True)
    nan_tx = tx("id-nan", "ACC-0001", "REF-1", 1767225600, 0, float("nan"))
    inf_tx = tx("id-inf", "ACC-0001", "REF-1", 1767225600, 0, float("-inf"))
    empty_acc = tx("id-empty-account", "", "REF-1", 1767225600, 0, 10.0)
    cases = [
        valid("index_shortcut", base),
        valid("explicit_index_array", base, shortcut=False),
        valid("shortest_decimal_not_float_sum", tx("id-2", "ACC-0002", "", 0, 0, 0.1 + 0.2)),
        valid("refund", tx("id-3", "ACC-0003", "REF-3", 1767225601, 999999999, -42.5)),
        valid("tiny_amount", tx("id-4", "ACC-0004", "REF-4", 1767225602, 0, 2.5e-05)),
        valid("large_amount", tx("id-5", "ACC-0005", "REF-5", 1767225603, 0, 123456789.12)),
        valid("zero_amount_defaults_omitted", tx("id-6", "ACC-0006", "", 0, 0, 0.0)),
        valid("unicode_text", tx("id-7", "ACC-Ü-0007", "Référence €", 1767225604, 1, 0.07)),
        invalid("empty_value", b"", "frame", "too_short"),
        invalid("four_bytes", b"\x00\x00\x00\x00", "frame", "too_short"),
        invalid("header_only", b"\x00\x00\x00\x00\x01", "frame", "too_short"),
        invalid("bad_magic_byte", b"\x01\x00\x00\x00\x01\x00" + body, "frame", "magic"),
        invalid("index_varint_runs_off_end", b"\x00\x00\x00\x00\x01\xff", "frame", "message_index"),
        invalid("negative_index_count", b"\x00\x00\x00\x00\x01\x01" + body, "frame", "message_index"),
        invalid("index_count_past_end", b"\x00\x00\x00\x00\x01\x06\x00", "frame", "message_index"),
        invalid("truncated_protobuf", wire_format.frame(SCHEMA_ID, body[:-3]), "payload", "protobuf"),
        invalid("random_bytes_as_payload", wire_format.frame(SCHEMA_ID, bytes.fromhex("ffffffffffffffffffff")), "payload", "protobuf"),
        invalid("nan_amount", wire_format.frame(SCHEMA_ID, nan_tx.SerializeToString(deterministic=True)), "validation", "amount"),
        invalid("infinite_amount", wire_format.frame(SCHEMA_ID, inf_tx.SerializeToString(deterministic=True)), "validation", "amount"),
        invalid("empty_account_number", wire_format.frame(SCHEMA_ID, empty_acc.SerializeToString(deterministic=True)), "validation", "account_number"),
    ]
    doc = {
        "description": "Confluent protobuf framing of txpipe.v1.Transaction; see tests/golden/make_wire_vectors.py",
        "schema_id": SCHEMA_ID,
        "schema_proto_file": "transaction.proto",
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
