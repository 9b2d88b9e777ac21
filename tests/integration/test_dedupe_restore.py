"""Re-sent transactions stay uncounted after the consumer's state is rebuilt from Kafka alone."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from txpipe_tools import verify
from txpipe_tools.consumer_runner import ConsumerProcess

pytestmark = pytest.mark.integration

N = 3000


def id_changelog(group: str) -> str:
    """The changelog topic of the consumer's counted-transaction-ids store."""
    return f"{group}-counted-transaction-ids-changelog"


def produce(stack, topic: str, *extra: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "txpipe.producer",
            "-b",
            stack.bootstrap_servers,
            "-s",
            stack.schema_registry_url,
            "-t",
            topic,
            "-q",
            "-n",
            str(N),
            "--seed",
            "77",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"delivered={N} failed=0" in result.stdout


def committed_to_end(bootstrap: str, group: str, topic: str) -> bool:
    """True once the group has committed every partition of ``topic`` up to its end."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = c.list_topics(topic, timeout=10).topics[topic].partitions
        committed = c.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return all(tp.offset == c.get_watermark_offsets(tp, timeout=10)[1] for tp in committed)
    finally:
        c.close()


def changelog_records(bootstrap: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"count-{time.time_ns()}"})
    try:
        partitions = c.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(hi - lo for lo, hi in (c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions))
    finally:
        c.close()


def test_resent_input_is_dropped_after_restoring_from_the_changelog(stack, topic, tmp_path):
    group = f"g-{topic}"
    state = tmp_path / "state"

    def consumer() -> ConsumerProcess:
        return ConsumerProcess(
            stack.bootstrap_servers,
            stack.schema_registry_url,
            topic,
            group,
            extra_args=["--state-dir", str(state)],
            log_dir=tmp_path / "logs",
        ).start()

    first = consumer()
    try:
        truth_file = tmp_path / "truth.json"
        produce(stack, topic, "--ground-truth", str(truth_file))
        truth = verify.load_ground_truth(truth_file)
        first.wait_for_totals(truth["totals"], timeout=180)
    finally:
        assert first.stop() in (0, 143)
    assert "earlier version" not in first.stderr_text()

    # The seen ids now exist only in the changelog: one record per id, plus the transactions' markers.
    changelog = id_changelog(group)
    records = changelog_records(stack.bootstrap_servers, changelog)
    assert N <= records < 2 * N, records
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    config = list(admin.describe_configs([ConfigResource("topic", changelog)]).values())[0].result()
    assert config["cleanup.policy"].value == "delete"

    shutil.rmtree(state)
    second = consumer()
    try:
        produce(stack, topic)  # the same seed: the same transactions, ids and all, sent again
        deadline = time.monotonic() + 120
        while not committed_to_end(stack.bootstrap_servers, group, topic):
            assert time.monotonic() < deadline, "the restored consumer did not commit the re-sent input within 120 s"
            assert second.alive(), second.stderr_text()[-2000:]
            time.sleep(0.5)
        # A task that starts sends its restored totals on at its first publication (a commit
        # interval in), which a consumer stopped right after committing the input may not reach.
        from_topic = verify.read_totals_topic(stack.bootstrap_servers, f"{topic}-totals", truth["totals"])
    finally:
        assert second.stop() in (0, 143)
    log = second.stderr_text()
    assert re.search(rf"counts at shutdown: counted=0 duplicates_dropped={N}\b", log), log[-2000:]
    assert [line for line in second.lines if line.startswith("(")] == []
    assert {a: t.transaction_count for a, t in from_topic.items()} == truth["counts"]


def started_once(stack, topic: str, group: str, tmp_path, topics: list[NewTopic], *args: str) -> str:
    """Creates ``topics``, runs a consumer of ``group`` on ``topic`` until Streams is RUNNING, stops it; its stderr."""
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    for future in admin.create_topics(topics).values():
        future.result(timeout=30)
    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        group,
        extra_args=["--state-dir", str(tmp_path / "state"), *args],
        log_dir=tmp_path / "logs",
    ).start()
    try:
        deadline = time.monotonic() + 60
        while "-> RUNNING" not in consumer.stderr_text():
            assert time.monotonic() < deadline, (
                "the consumer did not reach RUNNING within 60 s:\n" + consumer.stderr_text()[-2000:]
            )
            assert consumer.alive(), consumer.stderr_text()[-2000:]
            time.sleep(0.2)
    finally:
        assert consumer.stop() in (0, 143)
    return consumer.stderr_text()


def test_the_id_changelog_of_an_earlier_version_is_named_at_start(stack, topic, tmp_path):
    group = f"g-{topic}"
    old = f"{group}-seen-transaction-ids-changelog"
    log = started_once(stack, topic, group, tmp_path, [NewTopic(topic, 6, 1), NewTopic(old, 6, 1)])
    warnings = [line for line in log.splitlines() if "earlier version" in line]
    assert len(warnings) == 1, log[-2000:]
    assert "WARN" in warnings[0] and f"--delete --topic {old}" in warnings[0], warnings[0]


def test_a_changed_dedupe_retention_reaches_the_existing_id_changelog(stack, topic, tmp_path):
    group = f"g-{topic}"
    changelog = id_changelog(group)
    # As an earlier run with --dedupe-retention 7d left it.
    week = {"cleanup.policy": "delete", "retention.ms": str((7 * 24 + 1) * 3600_000), "segment.ms": "152100000"}
    log = started_once(
        stack, topic, group, tmp_path, [NewTopic(topic, 6, 1), NewTopic(changelog, 6, 1, config=week)], "--dedupe-retention", "2h"
    )
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    config = list(admin.describe_configs([ConfigResource("topic", changelog)]).values())[0].result()
    # Two hours plus the hour's margin; segments a quarter of that, but at least an hour.
    assert (config["retention.ms"].value, config["segment.ms"].value) == ("10800000", "3600000")
    assert f"set retention.ms of {changelog} to 10800000 (was 608400000)" in log
