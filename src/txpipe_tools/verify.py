"""Checks the pipeline's outputs against the producer's ground truth."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from txpipe.schema import AccountTotal


def load_ground_truth(path: Path) -> dict[str, Any]:
    """The JSON the producer writes with --ground-truth."""
    truth: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return truth


def read_totals_topic(
    bootstrap: str,
    topic: str,
    expected: dict[str, str] | None = None,
    timeout: float = 60,
    config: dict[str, str] | None = None,
    on_record: Callable[[str, AccountTotal], None] | None = None,
) -> dict[str, AccountTotal]:
    """The last committed AccountTotal per account in ``topic``, read with read_committed.

    Without ``expected`` it reads every partition to its current end. With ``expected``
    it keeps reading until each account's latest total equals it: the consumer logs a
    total before the transaction carrying it commits, so right after the last log line
    the topic may still be a commit interval behind. Raises TimeoutError saying what
    was missing. ``config`` adds client settings (librdkafka keys: a secured cluster's TLS and credentials).
    ``on_record`` is told of every committed record read, not only each account's latest.
    """
    security = {k: v for k, v in (config or {}).items() if not k.startswith("schema.registry.")}
    consumer = Consumer(
        {
            **security,
            "bootstrap.servers": bootstrap,
            "group.id": f"txpipe-verify-{time.time_ns()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise KafkaException(f"topic {topic} does not exist")
        partitions = [TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions]
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=timeout)[1] for tp in partitions}
        consumer.assign(partitions)
        latest: dict[str, AccountTotal] = {}
        pending = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + timeout

        def done() -> bool:
            if expected is None:
                return not pending
            return all(acc in latest and latest[acc].total == total for acc, total in expected.items())

        while not done():
            if time.monotonic() > deadline:
                if expected is None:
                    raise TimeoutError(f"reading {topic}: partitions {sorted(pending)} not read to their end within {timeout}s")
                diff = compare(expected, {a: t.total for a, t in latest.items()})
                raise TimeoutError(f"{topic} did not reach the expected totals within {timeout}s: {diff[:5]}")
            msg = consumer.poll(0.2)
            if msg is not None:
                if msg.error():
                    raise KafkaException(msg.error())
                key, value = msg.key(), msg.value()
                if key is None or value is None:
                    raise KafkaException(f"{topic}: the record at offset {msg.offset()} has no key or no value")
                account, total = key.decode("utf-8"), AccountTotal.FromString(value)
                latest[account] = total
                if on_record is not None:
                    on_record(account, total)
            if pending:
                # Positions, not record offsets: a transaction's commit marker is the last offset and is never returned.
                for tp in consumer.position([TopicPartition(topic, p) for p in pending]):
                    if tp.offset >= ends[tp.partition]:
                        pending.discard(tp.partition)
        return latest
    finally:
        consumer.close()


def compare(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """Human-readable differences; empty when both hold the same accounts with the same totals."""
    problems = []
    for account in sorted(set(expected) | set(actual)):
        want, got = expected.get(account), actual.get(account)
        if want != got:
            problems.append(f"{account}: expected {want}, got {got}")
    return problems


def registry_subject(
    registry_url: str, subject: str, timeout: float = 10, ca_file: str | None = None, user_info: str | None = None
) -> dict[str, Any]:
    """The latest version of a subject, as the registry's REST API returns it; ``ca_file`` (PEM) and
    ``user_info`` (``user:password``, HTTP basic auth) for a registry on HTTPS behind a login."""
    request = urllib.request.Request(f"{registry_url.rstrip('/')}/subjects/{subject}/versions/latest")
    if user_info:
        request.add_header("Authorization", "Basic " + base64.b64encode(user_info.encode()).decode())
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        version: dict[str, Any] = json.loads(response.read())
        return version
