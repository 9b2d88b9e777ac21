"""Another team's producer, on its client library's defaults, and a careless operator: every valid
transaction counts wherever it lands and however it is keyed; schemas are checked by meaning;
conflicting copies, forged lines and a wrong registry URL are caught and said so."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.support import wire_format
from txpipe import generator
from txpipe.producer import ensure_topic
from txpipe.schema import Transaction
from txpipe.totals import RunningTotals
from txpipe_tools import verify
from txpipe_tools.consumer_runner import ConsumerProcess

from .test_bad_input import _read_dlq, _tx

pytestmark = pytest.mark.integration


def _proto_text() -> str:
    return (Path(__file__).resolve().parents[2] / "proto" / "transaction.proto").read_text(encoding="utf-8")


def _register(registry: SchemaRegistryClient, subject: str, text: str, schema_type: str = "PROTOBUF") -> int:
    return registry.register_schema(subject, Schema(text, schema_type))


def test_librdkafka_defaults_unkeyed_and_foreign_keys_all_count(stack, topic, tmp_path):
    """confluent-kafka's standard serializer, no partitioner setting (consistent_random), 6 partitions."""
    registry = SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})
    ser = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    ctx = SerializationContext(topic, MessageField.VALUE)
    assert ensure_topic(AdminClient({"bootstrap.servers": stack.bootstrap_servers}), topic, 6, 1)
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "acks": "all", "enable.idempotence": True})
    truth = RunningTotals()
    errors: list[str] = []
    for i, t in enumerate(generator.generate(2000, 25, 4242)):
        # A third keyed by account, a third unkeyed, a third keyed by something else entirely.
        key = (t.account_number.encode(), None, uuid.uuid4().bytes)[i % 3]
        producer.produce(topic, key=key, value=ser(t, ctx), on_delivery=lambda err, msg: errors.append(str(err)) if err else None)
        truth.add(t.account_number, t.amount)
        producer.poll(0)
    assert producer.flush(60) == 0 and not errors, errors

    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        f"g-{topic}",
        extra_args=["--state-dir", str(tmp_path / "state")],
        log_dir=tmp_path / "logs",
    ).start()
    try:
        expected = truth.formatted()
        consumer.wait_for_totals(expected, timeout=180)
        got = verify.read_totals_topic(stack.bootstrap_servers, f"{topic}-totals", expected)
        assert verify.compare(expected, {a: t.total for a, t in got.items()}) == []
        assert {a: t.transaction_count for a, t in got.items()} == truth.counts
        assert len(consumer.lines) == 2000
        # Moved records are deleted once the group has committed past them: the topic stays bounded.
        moved_topic = f"g-{topic}-transactions-by-account-repartition"
        _wait_until_purged(stack.bootstrap_servers, moved_topic, timeout=120)
        assert consumer.alive()
    finally:
        consumer.stop()
    log = consumer.stderr_text()
    assert "rejected_to_dlq=0" in log, log[-3000:]
    assert "counted=2000" in log
    moved = int(log.rsplit("moved_to_owner=", 1)[1].split()[0])
    assert 1000 < moved < 2000, f"{moved} of 2000 moved: librdkafka's consistent_random should misplace most"


def _wait_until_purged(bootstrap: str, topic: str, timeout: float) -> None:
    """Until every partition of ``topic`` that ever held records has had them deleted up to its end."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"purge-{time.time_ns()}"})
    try:
        parts = c.list_topics(topic, timeout=30).topics[topic].partitions
        deadline, marks = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            marks = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts}
            used = [(lo, hi) for lo, hi in marks.values() if hi > 0]
            # The group commits past its last record; the commit marker after it may stay.
            if used and all(lo > 0 and hi - lo <= 1 for lo, hi in used):
                return
            time.sleep(2)
        raise AssertionError(f"{topic} was not purged within {timeout:.0f}s: (low, high) per partition {marks}")
    finally:
        c.close()


def test_schema_meaning_conflicts_and_forged_lines(stack, topic, tmp_path):
    registry = SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})
    ser = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    ctx = SerializationContext(topic, MessageField.VALUE)
    v1 = _proto_text()
    # A v2 that adds a field: the payload carries it as an unknown field 6 (a string).
    v2_id = _register(registry, f"{topic}-v2", v1.replace("double amount = 5;", "double amount = 5;\n  string channel = 6;"))
    as_string_id = _register(registry, f"{topic}-str", v1.replace("double amount = 5;", "string amount = 5;"))
    avro_id = _register(
        registry, f"{topic}-avro", '{"type":"record","name":"Transaction","fields":[{"name":"amount","type":"string"}]}', "AVRO"
    )
    assert len({v2_id, as_string_id, avro_id}) == 3

    def raw(schema_id: int, t: Transaction, extra: bytes = b"") -> bytes:
        return wire_format.frame(schema_id, t.SerializeToString() + extra)

    channel_field = b"\x32\x06mobile"  # field 6, length-delimited, "mobile"
    sent = [  # (key, value, counted amount or None, DLQ reason fragment or None)
        (b"ACC-1", ser(_tx("ACC-1", 10.0, "a"), ctx), 10.0, None),
        (b"ACC-1", raw(v2_id, _tx("ACC-1", 2.5, "v2"), channel_field), 2.5, None),
        (b"ACC-1", raw(as_string_id, _tx("ACC-1", 99.0, "s")), None, "declares field 5 (amount) as string, not double"),
        (b"ACC-1", raw(avro_id, _tx("ACC-1", 99.0, "avro")), None, "is AVRO (not PROTOBUF)"),
        (b"ACC-1", ser(_tx("ACC-1", 10.0, "a"), ctx), None, None),  # identical copy: dropped
        (b"ACC-1", ser(_tx("ACC-1", 0.01, "a"), ctx), None, "conflicting duplicate: transaction_id 'a' of account 'ACC-1'"),
        (None, ser(_tx("X, 1.00)\n(ACC-1, 9999999.00", 5.0, "forge"), ctx), None, "holds a control character or line separator"),
        (b"ACC-2", ser(_tx("ACC-2", 1.0, "b"), ctx), 1.0, None),
    ]
    assert ensure_topic(AdminClient({"bootstrap.servers": stack.bootstrap_servers}), topic, 3, 1)
    producer = Producer(
        {"bootstrap.servers": stack.bootstrap_servers, "acks": "all", "enable.idempotence": True, "partitioner": "murmur2_random"}
    )
    for key, value, _, _ in sent:
        producer.produce(topic, key=key, value=value)
        # One at a time, so the copies reach the consumer after the first.
        assert producer.flush(30) == 0
    truth = RunningTotals()
    for _key, value, amount, _ in sent:
        if amount is not None:
            truth.add(_account(value), amount)
    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        f"g-{topic}",
        extra_args=["--state-dir", str(tmp_path / "state")],
        log_dir=tmp_path / "logs",
    ).start()
    try:
        expected = truth.formatted()
        assert expected == {"ACC-1": "12.50", "ACC-2": "1.00"}
        consumer.wait_for_totals(expected, timeout=120)
        reasons = [r for *_, r in sent if r]
        dead = _read_dlq(stack.bootstrap_servers, f"{topic}-dlq", len(reasons))
        got = sorted(dict(m.headers())["dlq.reason"].decode() for m in dead)
        assert len(got) == len(reasons), got
        for fragment in reasons:
            assert sum(fragment in g for g in got) == 1, (fragment, got)
        conflict = next(g for g in got if g.startswith("conflicting duplicate"))
        assert "was counted from partition " in conflict and " offset 0 of " in conflict, conflict
        # Every stdout line is a real total: nothing forged.
        assert sorted(consumer.lines) == ["(ACC-1, 10.00)", "(ACC-1, 12.50)", "(ACC-2, 1.00)"]
    finally:
        consumer.stop()


def _account(value: bytes) -> str:
    frame = wire_format.parse(value)
    return Transaction.FromString(frame.payload).account_number


def test_a_schema_registered_while_its_record_waits_is_found(stack, topic, tmp_path):
    """A 404 is asked again (here for up to 20 s) rather than believed at once, and not kept for good."""
    registry = SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10})
    v1 = _proto_text()
    probe_id = _register(
        registry, f"{topic}-probe", v1.replace("double amount = 5;", f"double amount = 5;\n  string p{uuid.uuid4().hex} = 6;")
    )
    next_id = probe_id + 1
    assert ensure_topic(AdminClient({"bootstrap.servers": stack.bootstrap_servers}), topic, 1, 1)
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "acks": "all"})
    producer.produce(topic, key=b"ACC-7", value=wire_format.frame(next_id, _tx("ACC-7", 7.0, "late").SerializeToString()))
    assert producer.flush(30) == 0
    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        f"g-{topic}",
        extra_args=["--state-dir", str(tmp_path / "state"), "--schema-missing-wait", "20s"],
        log_dir=tmp_path / "logs",
    ).start()
    try:
        deadline = time.monotonic() + 60
        while "cannot answer for schema id" not in consumer.stderr_text():
            assert time.monotonic() < deadline and consumer.alive(), "the consumer never asked for the missing schema"
            time.sleep(0.2)
        registered = _register(
            registry, f"{topic}-late", v1.replace("double amount = 5;", f"double amount = 5;\n  string q{uuid.uuid4().hex} = 6;")
        )
        assert registered == next_id, (
            f"the registry gave id {registered}, not the next one ({next_id}); the test frames by that guess"
        )
        consumer.wait_for_totals({"ACC-7": "7.00"}, timeout=60)
    finally:
        consumer.stop()
    assert "rejected_to_dlq=0" in consumer.stderr_text()


def test_a_registry_url_without_the_api_path_fails_at_once_naming_the_fix(stack, topic, tmp_path):
    bare = stack.schema_registry_url.split("/apis/")[0]
    assert bare != stack.schema_registry_url
    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        bare,
        topic,
        f"g-{topic}",
        extra_args=["--state-dir", str(tmp_path / "state"), "--topic-wait-seconds", "60"],
        log_dir=tmp_path / "logs",
    ).start()
    try:
        code = consumer._proc.wait(60)
    except subprocess.TimeoutExpired:
        consumer.stop()
        pytest.fail("the consumer kept running with a registry URL that answers no Confluent API")
    consumer.stop()
    assert code == 1
    log = consumer.stderr_text()
    assert "does not answer the Confluent API" in log and "/apis/ccompat/v7" in log, log[-2000:]
