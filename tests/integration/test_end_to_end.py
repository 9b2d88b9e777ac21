"""The pipeline on the real local stack: producer -> Kafka -> Scala consumer, checked against ground truth.

The fixed-seed run goes through each security mode: plaintext, sasl_ssl and mtls (the apps then get
the stack's client properties files, the checks read as the super user)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.stacks import consumer_args, grant, kafka_config, producer_args, registry_access
from txpipe_tools import verify
from txpipe_tools.consumer_runner import ConsumerProcess

pytestmark = pytest.mark.integration


def run_producer(stack, topic: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
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
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_fixed_seed_run_totals_equal_ground_truth(any_stack, topic, tmp_path):
    stack, group = any_stack, f"g-{topic}"
    grant(stack, topic, group)
    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        group,
        extra_args=["--state-dir", str(tmp_path / "state"), *consumer_args(stack)],
        log_dir=tmp_path / "logs",
    ).start()
    try:
        truth_file = tmp_path / "truth.json"
        result = run_producer(
            stack, topic, "-n", "1200", "-a", "20", "--seed", "2026", "--ground-truth", str(truth_file), *producer_args(stack)
        )
        assert result.returncode == 0, result.stderr
        assert "delivered=1200 failed=0" in result.stdout
        truth = verify.load_ground_truth(truth_file)
        expected = truth["totals"]
        assert len(expected) == 20 and sum(truth["counts"].values()) == 1200

        consumer.wait_for_totals(expected, timeout=180)
        # One log line per transaction, each a running total of its account in order.
        tuples = [line for line in consumer.lines if line.startswith("(")]
        assert len(tuples) == 1200
        running: dict[str, list[str]] = {}
        for record in truth["records"]:
            running.setdefault(record["account_number"], []).append(record["total"])
        logged: dict[str, list[str]] = {}
        for line in tuples:
            account, total = line[1:-1].split(", ")
            logged.setdefault(account, []).append(total)
        assert logged == running

        from_topic = verify.read_totals_topic(stack.bootstrap_servers, f"{topic}-totals", expected, config=kafka_config(stack))
        assert verify.compare(expected, {a: t.total for a, t in from_topic.items()}) == []
        assert {a: t.transaction_count for a, t in from_topic.items()} == truth["counts"]

        subject = verify.registry_subject(stack.schema_registry_url, f"{topic}-value", **registry_access(stack))
        assert subject.get("schemaType") == "PROTOBUF"
    finally:
        consumer.stop()
    assert not consumer.alive()


def test_input_file_with_bad_rows_sends_the_valid_ones(stack, topic, tmp_path):
    path = tmp_path / "in.jsonl"
    rows = [
        {
            "transaction_id": "a1",
            "account_number": "ACC-1",
            "transaction_reference": "r",
            "transaction_datetime": "2026-01-01T00:00:00Z",
            "amount": 10.1,
        },
        {
            "transaction_id": "a2",
            "account_number": "",
            "transaction_reference": "r",
            "transaction_datetime": "2026-01-01T00:00:00Z",
            "amount": 1,
        },
        {
            "transaction_id": "a3",
            "account_number": "ACC-1",
            "transaction_reference": "r",
            "transaction_datetime": "2026-01-01T00:00:01Z",
            "amount": 0.2,
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    truth_file = tmp_path / "truth.json"
    result = run_producer(stack, topic, "-i", str(path), "--ground-truth", str(truth_file))
    assert result.returncode == 3, result.stderr
    assert f"{path}:2: account_number: empty" in result.stderr
    assert "delivered=2 failed=0 rejected=1" in result.stdout
    assert verify.load_ground_truth(truth_file)["totals"] == {"ACC-1": "10.30"}


def test_unreachable_kafka_fails_clearly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "txpipe.producer", "-b", "127.0.0.1:1", "-s", "http://127.0.0.1:1", "-t", "x", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot reach Kafka" in result.stderr
