"""The consumer as a service (--http-port) on the real local stack: account totals asked over HTTP
equal the producer's ground truth on every instance, paging covers every account once, /metrics
counts what the run held, and readiness follows the schema registry.

Sizes: TXPIPE_LIVE_TX transactions for the one-instance test, TXPIPE_LIVE_MULTI_TX for the
three-instance one and TXPIPE_LIVE_DISRUPT_TX for the scale 3->2->3 and kill -9 scenarios, the last
two over MULTI_ACCOUNTS accounts (`make test` runs them small; `make test-live` at the issue's 50,000
over 200 accounts).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from tests import readme
from txpipe.generator import account_numbers
from txpipe_tools import local_stack, verify
from txpipe_tools.consumer_runner import ConsumerProcess

from .conftest import free_port, running_stack

pytestmark = pytest.mark.integration

LIVE_TX = int(os.environ.get("TXPIPE_LIVE_TX", "3000"))
MULTI_TX = int(os.environ.get("TXPIPE_LIVE_MULTI_TX", "6000"))
MULTI_ACCOUNTS = 200


def get(port: int, path: str, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """One GET to the consumer's HTTP service on loopback: status, headers (names lower-cased), body (errors included)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(port: int, path: str) -> tuple[int, Any]:
    status, _, body = get(port, path)
    return status, json.loads(body)


def wait_until(check: Callable[[], str | None], timeout: float, what: str, poll: float = 0.5) -> None:
    """Calls ``check`` until it returns None; raises naming ``what`` and its last complaint after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = "never checked"
    while time.monotonic() < deadline:
        complaint = check()
        if complaint is None:
            return
        last = complaint
        time.sleep(poll)
    raise AssertionError(f"{what} within {timeout:.0f}s: {last}")


def run_producer(stack, topic: str, truth: Path, count: int, accounts: int, seed: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "txpipe.producer", "-b", stack.bootstrap_servers, "-s", stack.schema_registry_url, "-t", topic]
        + ["-n", str(count), "-a", str(accounts), "--seed", str(seed), "--ground-truth", str(truth), "-q"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = verify.load_ground_truth(truth)
    assert doc["delivered"] == count
    return doc


def start_consumer(stack, topic: str, group: str, tmp_path: Path, port: int, name: str = "c") -> ConsumerProcess:
    return ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        group,
        extra_args=["--state-dir", str(tmp_path / f"state-{name}"), "--http-port", str(port), "--commit-interval-ms", "300"],
        log_dir=tmp_path / "logs",
    ).start()


def answers_equal_truth(port: int, truth: dict[str, Any]) -> Callable[[], str | None]:
    """A check that every account's GET on ``port`` equals the ground truth (total and count)."""

    def check() -> str | None:
        for account, total in truth["totals"].items():
            try:
                status, body = get_json(port, f"/accounts/{urllib.parse.quote(account, safe='')}")
            except OSError as e:  # not listening yet
                return f"{account}: {e}"
            if status != 200:
                return f"{account}: HTTP {status} {body}"
            want = {"account": account, "total": total, "transactions": truth["counts"][account]}
            if body != want:
                return f"{account}: expected {want}, got {body}"
        return None

    return check


def resend_first_records(bootstrap: str, topic: str, n: int) -> int:
    """Reads ``n`` records of ``topic`` and writes the same keys and values again: exact duplicates."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"dup-{secrets.token_hex(4)}", "enable.auto.commit": False})
    producer = Producer({"bootstrap.servers": bootstrap})
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        sent = 0
        deadline = time.monotonic() + 60
        while sent < n:
            assert time.monotonic() < deadline, f"read only {sent} of {n} records of {topic} to send again"
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            producer.produce(topic, key=msg.key(), value=msg.value(), partition=msg.partition())
            sent += 1
        assert producer.flush(30) == 0, "duplicates not delivered"
        return sent
    finally:
        consumer.close()


def send_bad_records(bootstrap: str, topic: str) -> int:
    """Records no schema-registry frame can be read from (wrong magic byte, too short): both 'framing'."""
    producer = Producer({"bootstrap.servers": bootstrap})
    bad = [b"not a frame at all", b"\x00\x00"]
    for value in bad:
        producer.produce(topic, key=b"ACC-BAD", value=value)
    assert producer.flush(30) == 0, "bad records not delivered"
    return len(bad)


def metric_values(text: str) -> dict[str, float]:
    """Prometheus text lines as {'name{labels}': value}, comments skipped."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values


def test_one_instance_serves_committed_totals_pages_health_and_metrics(stack, topic, tmp_path):
    port = free_port()
    consumer = start_consumer(stack, topic, f"g-{topic}", tmp_path, port)
    try:
        truth = run_producer(stack, topic, tmp_path / "truth.json", LIVE_TX, 50, seed=24)
        duplicates = resend_first_records(stack.bootstrap_servers, topic, 40)
        bad = send_bad_records(stack.bootstrap_servers, topic)

        wait_until(answers_equal_truth(port, truth), 180, "GET /accounts/{account} did not equal the ground truth")

        # Paging: small pages, sorted by account, every account exactly once.
        seen: list[str] = []
        after = ""
        for _ in range(100):
            status, page = get_json(port, f"/accounts?limit=7&after={urllib.parse.quote(after)}")
            assert status == 200, page
            seen += [a["account"] for a in page["accounts"]]
            for a in page["accounts"]:
                assert a["total"] == truth["totals"][a["account"]] and isinstance(a["total"], str)
            if page["next"] is None:
                break
            after = page["next"]
        assert seen == sorted(truth["totals"]), "pages did not cover every account exactly once, in order"

        status, top = get_json(port, "/accounts?top=5")
        assert status == 200
        by_size = sorted(truth["totals"].items(), key=lambda kv: (-abs(Decimal(kv[1])), kv[0]))[:5]
        assert [(a["account"], a["total"]) for a in top["accounts"]] == by_size

        # The README's curl example, run as written but for this test's port and one of its accounts.
        (curl,) = [c for c in readme.shell_commands(readme.readme_text()) if c.startswith("curl ")]
        account = sorted(truth["totals"])[0]
        argv = [w.replace(":8080/", f":{port}/").replace("ACC-0007", account) for w in shlex.split(curl)]
        shown = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
        assert json.loads(shown) == {
            "account": account,
            "total": truth["totals"][account],
            "transactions": truth["counts"][account],
        }

        assert get(port, "/accounts/ACC-NOBODY-HAS-THIS")[0] == 404
        assert get(port, "/accounts/bad%0Aname")[0] == 400
        assert get(port, "/accounts/" + "x" * 200)[0] == 400
        assert get(port, "/accounts?limit=0")[0] == 400

        # The counters of this run: every valid transaction once, the copies dropped, the bad ones dead-lettered.
        def counters_match() -> str | None:  # the DLQ and duplicate counts may trail the totals by a commit
            values = metric_values(get(port, "/metrics")[2].decode())
            want = {
                "txpipe_records_counted_total": LIVE_TX,
                "txpipe_duplicates_dropped_total": duplicates,
                'txpipe_dlq_records_total{reason="framing"}': bad,
                'txpipe_dlq_records_total{reason="schema"}': 0,
            }
            wrong = {k: (v, values.get(k)) for k, v in want.items() if values.get(k) != v}
            return f"(expected, got) {wrong}" if wrong else None

        wait_until(counters_match, 60, "/metrics did not count the run's records")
        metrics = get(port, "/metrics")[2].decode()
        for name in ("txpipe_registry_lookup_seconds_count", "txpipe_commit_latency_seconds", "jvm_memory_used_bytes"):
            assert name in metrics, f"{name} missing from /metrics"
        assert "kafka_streams_stream_thread_metrics_" in metrics
        lag = [line for line in metrics.splitlines() if line.startswith("txpipe_consumer_lag_records{")]
        assert any(f'topic="{topic}"' in line for line in lag), f"no lag for the input's partitions: {lag}"
        Path(tmp_path / "metrics.txt").write_text(metrics)

        assert get_json(port, "/health/live") == (200, {"status": "ok", "state": "RUNNING", "reasons": []})
        assert get(port, "/health/ready")[0] == 200

        page = get(port, "/")[2].decode()
        assert "EventSource" in page and "dataset.account" in page and 'id="rows"' in page
        # The first live event carries the top accounts with their committed totals; later ones the
        # totals that change, until each account of a second run shows the total GET gives for it.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/events", timeout=10) as events:
            event = json.loads(events.readline().decode().removeprefix("data: "))
            assert event["accounts"] == len(truth["totals"])
            assert [(a["account"], a["total"]) for a in event["top"][:5]] == by_size
            more = run_producer(stack, topic, tmp_path / "truth2.json", 100, 50, seed=25)
            latest: dict[str, str] = {}
            deadline = time.monotonic() + 120
            while True:
                assert time.monotonic() < deadline, f"the events did not bring the second run's totals: {latest}"
                line = events.readline().decode()
                if line.startswith("data: "):
                    latest.update((c["account"], c["total"]) for c in json.loads(line[6:])["changes"])
                    if set(more["totals"]) <= set(latest):
                        served = {a: get_json(port, f"/accounts/{a}")[1]["total"] for a in more["totals"]}
                        if all(latest[a] == served[a] for a in more["totals"]):
                            break
    finally:
        consumer.stop()
    assert "dead-lettering" in consumer.stderr_text()


def test_ready_turns_503_while_the_registry_is_down_and_live_stays_200(tmp_path_factory, tmp_path):
    run_dir = tmp_path_factory.mktemp("live-registry-stack")
    topic = f"it-{secrets.token_hex(4)}"
    with running_stack(
        run_dir, kafka_port=free_port(), controller_port=free_port(), registry_port=free_port(), registry_storage="file"
    ) as stack:
        port = free_port()
        consumer = start_consumer(stack, topic, f"g-{topic}", tmp_path, port)
        try:
            truth = run_producer(stack, topic, tmp_path / "truth.json", 200, 5, seed=7)
            wait_until(answers_equal_truth(port, truth), 120, "the totals were not served")
            assert get(port, "/health/ready")[0] == 200

            local_stack.stop_registry(run_dir=run_dir)

            def ready_is(code: int) -> Callable[[], str | None]:
                def check() -> str | None:
                    status, body = get_json(port, "/health/ready")
                    return None if status == code else f"HTTP {status} {body}"

                return check

            wait_until(ready_is(503), 30, "/health/ready did not turn 503 with the registry stopped")
            status, body = get_json(port, "/health/ready")
            assert status == 503 and any("schema registry" in r for r in body["reasons"]), body
            assert get(port, "/health/live")[0] == 200
            # Committed totals are still served: they do not need the registry.
            assert answers_equal_truth(port, truth)() is None

            local_stack.start_registry(run_dir=run_dir)
            wait_until(ready_is(200), 60, "/health/ready did not turn 200 after the registry came back")
            assert get(port, "/health/live")[0] == 200
        finally:
            consumer.stop()


def test_three_instances_each_answer_for_every_account(stack, topic, tmp_path):
    group = f"g-{topic}"
    ports = [free_port() for _ in range(3)]
    consumers = [start_consumer(stack, topic, group, tmp_path, p, name=str(i)) for i, p in enumerate(ports)]
    try:
        truth = run_producer(stack, topic, tmp_path / "truth.json", MULTI_TX, MULTI_ACCOUNTS, seed=2424)
        assert len(truth["totals"]) == MULTI_ACCOUNTS
        for port in ports:
            wait_until(answers_equal_truth(port, truth), 240, f"instance on port {port} did not answer the ground truth")
        # Each instance answered some accounts itself and relayed the others from their owners.
        answered_by = set()
        for account in list(truth["totals"])[:30]:
            _, headers, _ = get(ports[0], f"/accounts/{account}")
            answered_by.add(headers.get("x-txpipe-answered-by", "self"))
        assert len(answered_by) > 1, f"every account was answered by {answered_by}: no forwarding happened"
        assert all(c.alive() for c in consumers)
    finally:
        for c in consumers:
            c.stop()


DISRUPT_TX = int(os.environ.get("TXPIPE_LIVE_DISRUPT_TX", "6000"))
DISRUPT_SECONDS = 24


class Asker:
    """Asks the instances for accounts in turn, on a thread, and keeps every answer for checking later."""

    def __init__(self, ports: list[int], accounts: list[str]) -> None:
        self.ports, self.accounts = ports, accounts
        self.answers: list[tuple[int, str, int, Any]] = []  # (port, account, status, body)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="asker", daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set() and len(self.answers) < 200_000:
            port, account = self.ports[i % len(self.ports)], self.accounts[i % len(self.accounts)]
            i += 1
            try:
                status, _, body = get(port, f"/accounts/{account}", timeout=8)
                self.answers.append((port, account, status, json.loads(body) if body else None))
            except OSError:  # an instance that is down or restarting refuses the connection
                self.answers.append((port, account, 0, None))
            time.sleep(0.005)

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def check_prefix_sums(answers: list[tuple[int, str, int, Any]], truth: dict[str, Any]) -> dict[int, int]:
    """Every 200 is a committed prefix sum: the account's total after exactly its first ``transactions``
    transactions in production order; the rest are 503s, refused connections, or 404s for accounts no
    total was served for yet. Returns the count per status."""
    running: dict[str, list[str]] = {}
    for record in truth["records"]:
        running.setdefault(record["account_number"], []).append(record["total"])
    wrong = []
    by_status: dict[int, int] = {}
    answered: set[str] = set()
    for port, account, status, body in answers:
        by_status[status] = by_status.get(status, 0) + 1
        if status == 404 and account in answered:
            wrong.append(f"port {port}: {account} answered 404 after a committed total was served")
        if status == 200:
            answered.add(account)
            n = body["transactions"]
            if not (1 <= n <= len(running[account]) and running[account][n - 1] == body["total"]):
                wrong.append(f"port {port}: {body} is not a prefix sum of {account}")
        elif status == 503:
            assert body["reason"], f"a 503 without a reason: {body}"
        elif status not in (0, 404):
            wrong.append(f"port {port}: {account}: HTTP {status} {body}")
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {wrong[:5]}"
    return by_status


def committed_totals_records(bootstrap: str, topic: str, timeout: float = 120) -> dict[str, set[tuple[str, int]]]:
    """Every (total, transactions) ``topic`` (a -totals topic) holds for each account as of now, read
    with read_committed: what the consumers' transactions committed, never what an abort rolled back.

    Every record, not only the latest: the topic is compacted, but the cleaner never touches a
    partition's active segment, and no segment rolls within a test (asserted: segment.ms of an hour
    or more and segment.bytes of 100 MB or more; the broker's defaults are a week and 1 GiB), so
    nothing is compacted away before it is read.
    """
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept while its future is pending
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    segment_ms, segment_bytes = int(configs["segment.ms"].value), int(configs["segment.bytes"].value)
    assert segment_ms >= 3_600_000 and segment_bytes >= 100_000_000, (
        f"{topic} rolls segments early (segment.ms {segment_ms}, segment.bytes {segment_bytes}): compaction "
        "could remove committed totals before they are read"
    )
    seen: dict[str, set[tuple[str, int]]] = {}
    verify.read_totals_topic(
        bootstrap,
        topic,
        timeout=timeout,
        on_record=lambda account, t: seen.setdefault(account, set()).add((t.total, t.transaction_count)),
    )
    return seen


def check_answers_committed(answers: list[tuple[int, str, int, Any]], committed: dict[str, set[tuple[str, int]]]) -> None:
    """Every 200 (account, total, transactions) is one the -totals topic holds committed: no answer
    was a value that a crash later rolled back."""
    wrong = [
        f"port {port}: {body}"
        for port, account, status, body in answers
        if status == 200
        and (body["account"] != account or (body["total"], body["transactions"]) not in committed.get(account, set()))
    ]
    assert not wrong, f"{len(wrong)} answers not among the committed records of -totals, e.g. {wrong[:5]}"


@pytest.mark.parametrize("disruption", ["scale_3_2_3", "kill_9"])
def test_answers_stay_committed_prefix_sums_while_instances_come_and_go(stack, topic, tmp_path, disruption):
    group = f"g-{topic}"
    ports = [free_port() for _ in range(3)]
    consumers = [start_consumer(stack, topic, group, tmp_path, p, name=str(i)) for i, p in enumerate(ports)]
    truth_path = tmp_path / "truth.json"
    accounts = account_numbers(MULTI_ACCOUNTS)
    try:
        wait_until(lambda: None if all(get_ok(p, "/health/live") for p in ports) else "not live", 120, "instances did not start")
        producer = subprocess.Popen(
            [sys.executable, "-m", "txpipe.producer", "-b", stack.bootstrap_servers, "-s", stack.schema_registry_url]
            + ["-t", topic, "-n", str(DISRUPT_TX), "-a", str(MULTI_ACCOUNTS), "--seed", "99"]
            + ["-r", str(DISRUPT_TX // DISRUPT_SECONDS)]
            + ["--ground-truth", str(truth_path), "-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        with Asker(ports, accounts) as asker:
            time.sleep(DISRUPT_SECONDS / 4)
            if disruption == "kill_9":
                consumers[2].kill()
            else:
                assert consumers[2].stop() in (0, 143)  # 143: the JVM ends on SIGTERM after its hooks
            time.sleep(DISRUPT_SECONDS / 4)
            consumers[2] = start_consumer(stack, topic, group, tmp_path, ports[2], name="2")
            _, err = producer.communicate(timeout=300)
            assert producer.returncode == 0, err
            truth = verify.load_ground_truth(truth_path)
            for port in ports:
                wait_until(answers_equal_truth(port, truth), 240, f"instance on port {port} did not reach the ground truth")
        by_status = check_prefix_sums(asker.answers, truth)
        assert by_status.get(200, 0) > 100, f"too few answers to judge: {by_status}"
        # A prefix sum could still be one an aborted transaction wrote (the replay after a crash
        # commits the same running totals at other points): each answer must be a committed record.
        # The instances serve from their read_committed view of -totals (CommittedTotals), so it is.
        check_answers_committed(asker.answers, committed_totals_records(stack.bootstrap_servers, f"{topic}-totals"))
        print(f"{disruption}: answers by status {by_status}")
    finally:
        for c in consumers:
            c.stop()


def get_ok(port: int, path: str) -> bool:
    try:
        return get(port, path, timeout=3)[0] == 200
    except OSError:
        return False
