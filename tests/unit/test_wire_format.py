"""The framing agrees with the golden vectors the Scala consumer also reads, and with confluent-kafka's serializer."""

from __future__ import annotations

import math

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf.message import DecodeError

from tests.support import wire_format
from txpipe.schema import Transaction
from txpipe.totals import amount_decimal


def _cases(golden, stage):
    return [c for c in golden["cases"] if c["stage"] == stage]


def _tx_from_json(doc: dict) -> Transaction:
    tx = Transaction(
        transaction_id=doc["transaction_id"],
        account_number=doc["account_number"],
        transaction_reference=doc["transaction_reference"],
        amount=doc["amount"],
    )
    tx.transaction_datetime.seconds = doc["transaction_datetime"]["seconds"]
    tx.transaction_datetime.nanos = doc["transaction_datetime"]["nanos"]
    return tx


def test_golden_file_covers_every_stage(golden):
    stages = {c["stage"] for c in golden["cases"]}
    assert stages == {"ok", "frame", "payload", "validation"}
    assert len({c["name"] for c in golden["cases"]}) == len(golden["cases"])


def test_valid_vectors_decode_to_their_transaction(golden):
    cases = _cases(golden, "ok")
    assert len(cases) >= 5
    for case in cases:
        frame = wire_format.parse(bytes.fromhex(case["hex"]))
        assert frame.schema_id == golden["schema_id"], case["name"]
        assert list(frame.message_indexes) == case["message_indexes"], case["name"]
        tx = Transaction.FromString(frame.payload)
        assert tx == _tx_from_json(case["transaction"]), case["name"]
        assert str(amount_decimal(tx.amount)) == case["amount_decimal"], case["name"]


def test_valid_vectors_reencode_byte_for_byte(golden):
    for case in _cases(golden, "ok"):
        tx = _tx_from_json(case["transaction"])
        shortcut = case["name"] != "explicit_index_array"
        value = wire_format.frame(golden["schema_id"], tx.SerializeToString(deterministic=True), (0,), shortcut)
        assert value.hex() == case["hex"], case["name"]


def test_bad_frames_are_refused_with_a_reason(golden):
    cases = _cases(golden, "frame")
    assert len(cases) >= 5
    for case in cases:
        with pytest.raises(wire_format.WireFormatError):
            wire_format.parse(bytes.fromhex(case["hex"]))


def test_bad_payloads_frame_fine_but_do_not_parse(golden):
    for case in _cases(golden, "payload"):
        frame = wire_format.parse(bytes.fromhex(case["hex"]))
        with pytest.raises(DecodeError):
            Transaction.FromString(frame.payload)


def test_validation_cases_parse_but_break_a_rule(golden):
    for case in _cases(golden, "validation"):
        tx = Transaction.FromString(wire_format.parse(bytes.fromhex(case["hex"])).payload)
        # An amount of 0.0 is what a record without one parses as (proto3 leaves it out of the bytes).
        broken = not math.isfinite(tx.amount) or tx.amount == 0 or not tx.account_number
        assert broken, case["name"]


def test_null_value_is_refused():
    with pytest.raises(wire_format.WireFormatError, match="null"):
        wire_format.parse(None)


def test_confluent_serializer_writes_the_golden_bytes(golden):
    # mock:// is confluent-kafka's in-process registry: fine for a unit test of framing.
    registry = SchemaRegistryClient.new_client({"url": "mock://golden"})
    serializer = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    case = _cases(golden, "ok")[0]
    tx = _tx_from_json(case["transaction"])
    value = serializer(tx, SerializationContext("golden", MessageField.VALUE))
    frame = wire_format.parse(value)
    expected = wire_format.parse(bytes.fromhex(case["hex"]))
    assert value[0] == 0 and value[5] == 0, "magic byte and the [0] shortcut"
    assert frame.message_indexes == expected.message_indexes
    assert frame.payload == expected.payload
    # The id is whatever the registry assigned; every other byte matches the golden vector.
    assert value[5:] == bytes.fromhex(case["hex"])[5:]


@pytest.mark.parametrize("indexes", [(0,), (1,), (0, 2), (3, 1, 4)])
def test_header_round_trips(indexes):
    value = wire_format.frame(123456, b"\x08\x01", indexes)
    frame = wire_format.parse(value)
    assert frame == wire_format.Frame(123456, indexes, b"\x08\x01")


def test_amount_texts_are_sent_exactly_or_rejected(golden):
    # The golden amount texts (issue 20): the producer's rule, and the decimal each double is read back as.
    from decimal import Decimal

    from txpipe.input_file import parse_amount

    texts = golden["amount_texts"]
    assert any(t["accepted"] for t in texts) and any(not t["accepted"] for t in texts)
    for case in texts:
        text = case["text"]
        if case["accepted"]:
            amount = parse_amount(text)
            assert str(amount_decimal(amount)) == case["arrives_as"], text
            assert Decimal(case["arrives_as"]) == Decimal(text), text
        else:
            with pytest.raises(ValueError, match="cannot be carried exactly|beyond the range|is zero"):
                parse_amount(text)
            if case["arrives_as"] is not None:
                assert Decimal(case["arrives_as"]) != Decimal(text) or Decimal(text) == 0, text


def test_boundary_amounts_are_in_the_valid_vectors(golden):
    names = {c["name"] for c in golden["cases"] if c["stage"] == "ok"}
    assert {
        "amount_boundary_cents_below_2_pow_45",
        "amount_boundary_cents_above_2_pow_45",
        "amount_boundary_max_double",
        "amount_boundary_smallest_subnormal",
    } <= names
