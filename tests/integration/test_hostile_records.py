"""Records no producer of ours would send, each followed by valid ones: the consumer dead-letters
every one with a reason, replaces a record too large to copy with a marker, never exits, and
still counts what comes after."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from txpipe.producer import ensure_topic
from txpipe.schema import Transaction
from txpipe.totals import RunningTotals
from txpipe_tools.consumer_runner import ConsumerProcess

from .test_bad_input import _read_dlq, _tx

pytestmark = pytest.mark.integration

# The broker's default message.max.bytes: a record batch of one record may be this large.
BROKER_LIMIT = 1_048_588


def test_oversized_records_are_dead_lettered_and_the_consumer_goes_on(stack, topic, tmp_path):
    registry = SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})
    ser = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    ctx = SerializationContext(topic, MessageField.VALUE)
    assert ensure_topic(AdminClient({"bootstrap.servers": stack.bootstrap_servers}), topic, 6, 1)
    producer = Producer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "acks": "all",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            "message.max.bytes": BROKER_LIMIT,
            "linger.ms": 0,
        }
    )
    # A record as large as the broker takes: value sized so that the one-record batch is at the limit.
    at_limit_value = b"\x00" * (BROKER_LIMIT - 120)
    hostile = [  # (why, key, value, headers, copied to the DLQ as is)
        ("a 600 KB transaction_id", b"ACC-0001", ser(_tx("ACC-0001", 5.0, "i" * 600_000), ctx), [("h", b"1")], True),
        ("a record at the broker's size limit", b"ACC-0002", at_limit_value, [], False),
        (
            "a well-formed transaction whose DLQ copy would pass the limit",
            b"ACC-0003",
            ser(_tx("ACC-0003", 1.0, "big", reference="R" * (BROKER_LIMIT - 6400)), ctx),
            [("trace", b"t" * 6000)],
            False,
        ),
    ]
    truth = RunningTotals()
    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        f"g-{topic}",
        extra_args=["--state-dir", str(tmp_path / "state")],
        log_dir=tmp_path / "logs",
    ).start()
    errors: list[str] = []
    try:
        for n, (why, key, value, headers, _) in enumerate(hostile):
            producer.produce(
                topic,
                key=key,
                value=value,
                headers=headers,
                on_delivery=lambda err, msg, why=why: err and errors.append(f"{why}: {err}"),
            )
            assert producer.flush(30) == 0
            assert not errors, errors
            # Valid transactions for every account after each: they must still be counted.
            for account in ("ACC-0001", "ACC-0002", "ACC-0003"):
                t = _tx(account, 1.25 + n, f"after-{n}-{account}")
                producer.produce(topic, key=account.encode(), value=ser(t, ctx))
                truth.add(account, t.amount)
            assert producer.flush(30) == 0
            consumer.wait_for_totals(truth.formatted(), timeout=120)
            assert consumer.alive()

        dead = _read_dlq(stack.bootstrap_servers, f"{topic}-dlq", len(hostile))
        assert len(dead) == len(hostile)
        by_key = {}
        for msg in dead:
            h = {k: v for k, v in (msg.headers() or [])}
            assert h["dlq.source.topic"] == topic.encode() and h["dlq.reason"]
            by_key[msg.key() or h["dlq.original.value.bytes"]] = (msg, h)
        for why, key, value, headers, copied in hostile:
            if copied:
                msg, h = by_key[key]
                assert msg.value() == value, why
                assert b"over the limit of 16384" in h["dlq.reason"], (why, h["dlq.reason"])
                assert h["h"] == headers[0][1]
            else:
                msg, h = by_key[str(len(value)).encode()]
                assert msg.key() is None and msg.value() is None, why
                assert b"too large to copy to the DLQ" in h["dlq.reason"], (why, h["dlq.reason"])
                assert int(h["dlq.original.key.bytes"]) == len(key), why
                assert int(h["dlq.source.offset"]) >= 0
        assert consumer.alive()
    finally:
        code = consumer.stop()
    log = consumer.stderr_text()
    assert code in (0, 143), log[-3000:]
    assert "rejected_to_dlq=3" in log
    assert "RecordTooLarge" not in log
