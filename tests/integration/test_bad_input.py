"""Bad records written straight into the topic, between valid ones: the consumer keeps running,
puts each bad record once into <topic>-dlq (original key, bytes and headers, plus dlq.*), logs a
count of rejects, and the totals stay exact. Valid records keyed otherwise, or not at all, count."""

from __future__ import annotations

import math
import os
import random
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.support import wire_format
from txpipe import generator
from txpipe.producer import ensure_topic
from txpipe.schema import AccountTotal, Transaction
from txpipe.totals import RunningTotals, format_total
from txpipe_tools import verify
from txpipe_tools.consumer_runner import ConsumerProcess

pytestmark = pytest.mark.integration

NEAR_LIMIT = 1_000_000  # the broker's default max.message.bytes is 1048588 (batch included)


def _tx(account: str, amount: float, tid: str, reference: str = "REF") -> Transaction:
    t = Transaction(transaction_id=tid, account_number=account, transaction_reference=reference, amount=amount)
    t.transaction_datetime.FromMilliseconds(1767225600000)
    return t


def test_bad_records_go_to_the_dlq_once_and_totals_stay_exact(stack, topic, tmp_path):
    # Bounded requests: an unanswered registry call must fail the test, not hang it.
    registry = SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})
    tx_ser = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    other_ser = ProtobufSerializer(AccountTotal, registry, {"use.deprecated.format": False})
    ctx = SerializationContext(topic, MessageField.VALUE)

    def framed(t: Transaction) -> bytes:
        return tx_ser(t, ctx)

    schema_id = wire_format.parse(framed(_tx("ACC-0001", 1.0, "probe"))).schema_id
    other = other_ser(
        AccountTotal(account_number="ACC-0001", total="1.00", transaction_count=1),
        SerializationContext(f"{topic}-other", MessageField.VALUE),
    )
    assert wire_format.parse(other).schema_id != schema_id
    body = _tx("ACC-0001", 12.5, "body").SerializeToString()
    rnd = random.Random(99)
    bad: list[tuple[str, bytes | None, bytes | None]] = [  # (why, key, value)
        ("empty value", None, b""),
        ("null value", b"ACC-0001", None),
        ("shorter than 5 bytes", None, b"\x00\x00\x01"),
        ("first byte not 0", None, b"\x01" + framed(_tx("ACC-0001", 1.0, "m"))[1:]),
        ("unknown schema id", None, wire_format.frame(987654, body)),
        ("message index runs off the end", None, wire_format.header(schema_id)[:5] + b"\xff"),
        ("message index past the schema", None, wire_format.frame(schema_id, body, (1,), shortcut=False)),
        ("random bytes", None, bytes(rnd.getrandbits(8) for _ in range(64))),
        ("truncated protobuf", None, wire_format.frame(schema_id, body[:-4])),
        ("a different message type", b"ACC-0001", other),
        ("NaN amount", b"ACC-0001", framed(_tx("ACC-0001", math.nan, "nan"))),
        ("+inf amount", b"ACC-0001", framed(_tx("ACC-0001", math.inf, "inf"))),
        ("-inf amount", b"ACC-0001", framed(_tx("ACC-0001", -math.inf, "-inf"))),
        ("empty account_number", None, framed(_tx("", 3.0, "empty-acc"))),
        ("random bytes near the size limit", None, os.urandom(NEAR_LIMIT)),
        # Well formed, but far over the consumer's record and field limits.
        (
            "a transaction near the size limit",
            b"ACC-0004",
            framed(_tx("ACC-0004", 7.25, "big", reference="R" * (NEAR_LIMIT - 200))),
        ),
        ("a transaction_reference over its limit", b"ACC-0004", framed(_tx("ACC-0004", 1.0, "long-ref", reference="R" * 513))),
    ]
    valid = list(generator.generate(300, 10, 77))

    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        f"g-{topic}",
        extra_args=["--state-dir", str(tmp_path / "state")],
        log_dir=tmp_path / "logs",
    ).start()
    producer = Producer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "acks": "all",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            "message.max.bytes": 1_048_576,
        }
    )
    sent_bad: dict[tuple[int, int], tuple[str, bytes | None, bytes | None, list]] = {}
    errors: list[str] = []
    truth = RunningTotals()
    running: dict[str, list[str]] = {}
    try:
        # Created the way the producer creates it, so partitions and settings are the usual ones.
        assert ensure_topic(AdminClient({"bootstrap.servers": stack.bootstrap_servers}), topic, 6, 1)

        def on_bad(why, key, value, headers):
            def report(err, msg):
                if err is not None:
                    errors.append(f"{why}: {err}")
                else:
                    sent_bad[(msg.partition(), msg.offset())] = (why, key, value, headers)

            return report

        bad_iter = iter(bad)
        for i, t in enumerate(valid):
            producer.produce(topic, key=t.account_number.encode(), value=framed(t))
            total = truth.add(t.account_number, t.amount)
            running.setdefault(t.account_number, []).append(format_total(total))
            if i % 18 == 5:
                item = next(bad_iter, None)
                if item is not None:
                    why, key, value = item
                    headers = [("origin", f"bad-{i}".encode())]
                    producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_bad(why, key, value, headers))
            producer.poll(0)
        # Keyed for another account, and unkeyed: the account is in the value, so both count.
        for key, t in ((b"ACC-0002", _tx("ACC-0999", 4.0, "key-mismatch")), (None, _tx("ACC-0998", 2.5, "no-key"))):
            producer.produce(topic, key=key, value=framed(t))
            running.setdefault(t.account_number, []).append(format_total(truth.add(t.account_number, t.amount)))
        for why, key, value in bad_iter:  # whatever did not fit between the valid ones
            headers = [("origin", b"tail")]
            producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_bad(why, key, value, headers))
        assert producer.flush(60) == 0
        assert not errors, errors
        assert len(sent_bad) == len(bad)

        expected = truth.formatted()
        consumer.wait_for_totals(expected, timeout=180)
        got = verify.read_totals_topic(stack.bootstrap_servers, f"{topic}-totals", expected)
        assert verify.compare(expected, {a: t.total for a, t in got.items()}) == []
        assert {a: t.transaction_count for a, t in got.items()} == truth.counts
        logged: dict[str, list[str]] = {}
        for line in consumer.lines:
            acc, total = line[1:-1].split(", ")
            logged.setdefault(acc, []).append(total)
        assert logged == running

        dead = _read_dlq(stack.bootstrap_servers, f"{topic}-dlq", len(bad))
        seen = set()
        for msg in dead:
            h = {k: v for k, v in (msg.headers() or [])}
            src = (int(h["dlq.source.partition"]), int(h["dlq.source.offset"]))
            assert src in sent_bad, f"unexpected DLQ record from {src}: {h.get('dlq.reason')}"
            assert src not in seen, f"{sent_bad[src][0]} dead-lettered twice"
            seen.add(src)
            why, key, value, headers = sent_bad[src]
            assert h["dlq.source.topic"] == topic.encode()
            assert h["dlq.reason"], why
            assert msg.key() == key, why
            assert msg.value() == (value if value is not None else None) or (value == b"" and msg.value() in (b"", None)), why
            assert h["origin"] == headers[0][1], why
        assert seen == set(sent_bad), {sent_bad[s][0] for s in set(sent_bad) - seen}
        assert consumer.alive()
    finally:
        consumer.stop()
    log = consumer.stderr_text()
    assert f"(rejected so far: {len(bad)})" in log
    assert f"rejected_to_dlq={len(bad)}" in log


def _read_dlq(bootstrap: str, topic: str, want: int, timeout: float = 120, settle: float = 5):
    """Every committed record of the DLQ: waits for ``want``, then a few seconds more for extras."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"dlq-{time.time_ns()}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.message.max.bytes": 2_000_000,
        }
    )
    try:
        md = c.list_topics(topic, timeout=30)
        c.assign([TopicPartition(topic, p, 0) for p in md.topics[topic].partitions])
        out, deadline, settle_until = [], time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                out.append(msg)
            if len(out) >= want:
                settle_until = settle_until or time.monotonic() + settle
                if time.monotonic() > settle_until:
                    break
        assert len(out) >= want, f"only {len(out)} of {want} records reached {topic}"
        return out
    finally:
        c.close()
