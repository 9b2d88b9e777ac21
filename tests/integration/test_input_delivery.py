"""Input rows on the real local stack (issue 20): every valid row of a malformed input reaches the topic,
exactly once, with its exact amount; a large input streams from standard input; SIGTERM on an idle
pipe still ends the run with its summary and ground truth.

The stdin run sends TXPIPE_STDIN_BYTES of rows (default 20 MB; the issue's 1 GB with
TXPIPE_STDIN_BYTES=1000000000, as the README says).
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.integration.test_dedupe_restore import changelog_records as count_topic  # any topic's record count
from tests.support import wire_format
from txpipe.schema import Transaction
from txpipe_tools import verify

pytestmark = pytest.mark.integration

STDIN_BYTES = int(os.environ.get("TXPIPE_STDIN_BYTES", 20_000_000))
HEADER = b"transaction_id,account_number,transaction_reference,transaction_datetime,amount\n"


def producer_cmd(stack, topic: str, *extra: str) -> list[str]:
    return [
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
    ]


def read_topic(bootstrap: str, topic: str, timeout: float = 120) -> list[Transaction]:
    """Every record of ``topic`` (each partition read to its end), decoded."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-{time.time_ns()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        partitions = c.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
        c.assign([TopicPartition(topic, p, 0) for p in partitions])
        left = {p for p, end in ends.items() if end > 0}
        out: list[Transaction] = []
        deadline = time.monotonic() + timeout
        while left:
            assert time.monotonic() < deadline, f"{topic}: partitions {sorted(left)} not read to their end in {timeout}s"
            for msg in c.consume(10_000, timeout=0.5):
                if msg.error():
                    continue
                out.append(Transaction.FromString(wire_format.parse(msg.value()).payload))
                if msg.offset() + 1 >= ends[msg.partition()]:
                    left.discard(msg.partition())
        return out
    finally:
        c.close()


def test_every_valid_row_of_a_malformed_input_is_delivered_once(stack, topic, tmp_path):
    lines = [
        b"m1,ACC-1,R,2026-01-31T12:00:00Z,10.50",
        b"m2,ACC-1,R,2026-01-31T12:00:00Z,1234567890123456.78",  # rejected: not exact as a double
        b'm3,ACC-2,"two\nlines",2026-01-31T12:00:00Z,0.1',  # quoted newline: lines 4-5
        b"m4,ACC-2,R\xff,2026-01-31T12:00:00Z,3",  # rejected: invalid UTF-8
        b"m5,ACC-3,R" + b"x" * 140_000 + b",2026-01-31T12:00:00Z,4",  # rejected: reference over the limit
        b"m6,ACC-3,R,2026-01-31T12:00:00Z,123456789012345.67",
        b"m1,ACC-3,R,2026-01-31T12:00:00Z,5",  # rejected: duplicate id
        b"m7,ACC-3,R,2026-01-31T12:00:00Z,1e300",
        b"m8,ACC-1,R,2026-01-31T12:00:00Z,-0.01,surplus",  # rejected: extra cell
        b"m9,ACC-1,R,2026-01-31T12:00:00Z,-0.01",
    ]
    path = tmp_path / "ledger.csv.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n") + b"\r\n".join(lines) + b"\r\n"))
    rejects, truth_file = tmp_path / "rejects.csv", tmp_path / "truth.json"
    result = subprocess.run(
        producer_cmd(stack, topic, "-i", str(path), "--rejects", str(rejects), "--ground-truth", str(truth_file)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "sent=5 delivered=5 failed=0 rejected=5" in result.stdout
    rejected_lines = [int(line.split(":")[1]) for line in result.stderr.splitlines() if line.startswith("rejected ")]
    assert rejected_lines == [3, 6, 7, 9, 11]
    assert [line.split(b",")[0] for line in rejects.read_bytes().split(b"\r\n")[1:] if line] == [b"3", b"6", b"7", b"9", b"11"]

    got = read_topic(stack.bootstrap_servers, topic)
    assert sorted(t.transaction_id for t in got) == ["m1", "m3", "m6", "m7", "m9"]  # each once
    by_id = {t.transaction_id: t for t in got}
    assert {i: repr(t.amount) for i, t in by_id.items()} == {
        "m1": "10.5",
        "m3": "0.1",
        "m6": "123456789012345.67",
        "m7": "1e+300",
        "m9": "-0.01",
    }
    assert by_id["m3"].transaction_reference == "two\nlines"
    assert {i: t.account_number for i, t in by_id.items()} == {
        "m1": "ACC-1",
        "m3": "ACC-2",
        "m6": "ACC-3",
        "m7": "ACC-3",
        "m9": "ACC-1",
    }
    truth = verify.load_ground_truth(truth_file)
    assert truth["totals"] == {"ACC-1": "10.49", "ACC-2": "0.10", "ACC-3": "1" + "0" * 285 + "123456789012345.67"}


def _rows(count: int):
    """CSV rows of unique ids and amounts that are never zero, about 95 bytes each."""
    for i in range(count):
        yield b"%032x,ACC-%04d,REF-%010d,2026-01-31T12:00:00.%03dZ,%d.%02d\n" % (i, i % 20, i, i % 1000, i % 5000 + 1, i % 100)


def test_a_large_input_streams_from_stdin(stack, topic, tmp_path):
    count = max(1000, STDIN_BYTES // 95)
    out_path, err_path = tmp_path / "producer.out", tmp_path / "producer.err"
    with open(out_path, "wb") as out_file, open(err_path, "wb") as err_file:
        proc = subprocess.Popen(
            producer_cmd(stack, topic, "-i", "-", "-p", "6"),
            stdin=subprocess.PIPE,
            stdout=out_file,
            stderr=err_file,
            start_new_session=True,
        )
    written = [0]

    def feed():
        try:
            proc.stdin.write(HEADER)
            batch = []
            for line in _rows(count):
                batch.append(line)
                if len(batch) == 10_000:
                    proc.stdin.write(b"".join(batch))
                    written[0] += len(batch)
                    batch = []
            proc.stdin.write(b"".join(batch))
            written[0] += len(batch)
        finally:
            proc.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        proc.wait(timeout=120 + count / 2000)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        raise AssertionError(f"the producer did not finish {count} rows from stdin in time; see {err_path}") from None
    writer.join(10)
    out, err = out_path.read_bytes(), err_path.read_bytes()
    assert written[0] == count
    assert proc.returncode == 0, err.decode()[-2000:]
    assert f"sent={count} delivered={count} failed=0 rejected=0".encode() in out
    assert count_topic(stack.bootstrap_servers, topic) == count


def test_sigterm_on_an_idle_stdin_ends_the_run_with_its_summary_and_ground_truth(stack, topic, tmp_path):
    truth_file = tmp_path / "truth.json"
    proc = subprocess.Popen(
        producer_cmd(stack, topic, "-i", "-", "--format", "csv", "--ground-truth", str(truth_file)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        proc.stdin.write(HEADER + b"".join(_rows(10)))
        proc.stdin.flush()  # and no more: `tail -f` on a quiet ledger
        deadline = time.monotonic() + 60
        while not (_topic_exists(stack, topic) and count_topic(stack.bootstrap_servers, topic) >= 10):
            assert time.monotonic() < deadline, "the 10 rows written to stdin did not reach the topic in 60s"
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 130, err.decode()
    assert b"sent=10 delivered=10 failed=0 rejected=0" in out and b"stopped=SIGTERM input_done_to_line=11" in out
    truth = verify.load_ground_truth(truth_file)
    assert truth["delivered"] == 10 and len(truth["records"]) == 10


def _topic_exists(stack, topic: str) -> bool:
    from confluent_kafka.admin import AdminClient

    return topic in AdminClient({"bootstrap.servers": stack.bootstrap_servers}).list_topics(timeout=10).topics
