"""What every fault scenario shares: sizes, the producer subprocess, and the checks.

A scenario passes only if
* the final totals in ``<topic>-totals`` (read_committed) equal the ground truth exactly,
* every AccountTotal.transaction_count equals the ground truth's count (nothing counted twice),
* every ``(account, total)`` line any consumer instance logged is a running total of that
  account's sequence (lines may repeat after a crash, never show a value outside it), and
  every running total of every account was logged at least once (no transaction skipped).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from tests.support.stacks import consumer_args, kafka_config, producer_args
from txpipe import generator
from txpipe.totals import RunningTotals, format_total
from txpipe_tools import verify
from txpipe_tools.consumer_runner import LINE, ConsumerProcess

ROOT = Path(__file__).resolve().parents[2]
DURATIONS_FILE = ROOT / ".stack" / "faults" / "durations.json"
ACCOUNTS = 50


def fault_tx() -> int:
    """Transactions per scenario: $TXPIPE_FAULT_TX, default 100000 (CI passes a smaller number)."""
    return int(os.environ.get("TXPIPE_FAULT_TX", "100000"))


def secured_fault_tx() -> int:
    """Transactions per scenario on a secured stack: $TXPIPE_SECURED_FAULT_TX, else the plain size."""
    return int(os.environ.get("TXPIPE_SECURED_FAULT_TX") or fault_tx())


def secured_fault_kills() -> int:
    """Consumer kills on a secured stack: $TXPIPE_SECURED_FAULT_KILLS (at least 1), default 5 as in plaintext."""
    return max(1, int(os.environ.get("TXPIPE_SECURED_FAULT_KILLS", "5")))


def run_seconds() -> float:
    """How long the producer's rate limit stretches a run, so faults land mid-run ($TXPIPE_FAULT_RUN_SECONDS)."""
    return float(os.environ.get("TXPIPE_FAULT_RUN_SECONDS", "60"))


def rate_for(n: int) -> int:
    return max(50, int(n / run_seconds()))


@dataclass
class Expected:
    totals: dict[str, str]
    counts: dict[str, int]
    sequences: dict[str, list[str]]  # account -> running totals in order

    @classmethod
    def from_generator(cls, count: int, accounts: int, seed: int) -> Expected:
        rt = RunningTotals()
        seqs: dict[str, list[str]] = {}
        for tx in generator.generate(count, accounts, seed):
            seqs.setdefault(tx.account_number, []).append(format_total(rt.add(tx.account_number, tx.amount)))
        return cls(rt.formatted(), dict(rt.counts), seqs)

    @classmethod
    def from_truth(cls, path: Path) -> Expected:
        truth = verify.load_ground_truth(path)
        seqs: dict[str, list[str]] = {}
        for r in truth["records"]:
            seqs.setdefault(r["account_number"], []).append(r["total"])
        return cls(truth["totals"], truth["counts"], seqs)


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
        *producer_args(stack),
        *extra,
    ]


def start_producer(
    stack, topic: str, n: int, seed: int, *extra: str, rate: int | None = None, truth: Path | None = None, log: Path | None = None
) -> subprocess.Popen:
    args = ["-n", str(n), "-a", str(ACCOUNTS), "--seed", str(seed), *extra]
    if rate:
        args += ["-r", str(rate)]
    if truth:
        args += ["--ground-truth", str(truth)]
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen(
        producer_cmd(stack, topic, *args), stdout=out, stderr=subprocess.STDOUT, start_new_session=True, text=True
    )


def wait_process(proc: subprocess.Popen, timeout: float, what: str) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        raise AssertionError(f"{what} did not finish within {timeout:.0f}s") from None


def wait_until(pred: Callable[[], bool], timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


def total_lines(consumers: Iterable[ConsumerProcess]) -> int:
    return sum(c.line_count() for c in consumers)


# A killed instance stays in the group until its session times out; 6 s (the broker's minimum)
# instead of 45 s keeps the fault runs short. It changes how fast, never what is counted.
FAST_FAILOVER = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1500"]


def new_consumer(stack, topic: str, group: str, state_dir: Path, log_dir: Path, *extra: str) -> ConsumerProcess:
    return ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        group,
        extra_args=["--state-dir", str(state_dir), *FAST_FAILOVER, *consumer_args(stack), *extra],
        log_dir=log_dir,
    ).start()


@dataclass
class LineReport:
    lines: int = 0
    repeated: int = 0  # lines whose (account, total) was already logged as often as the truth has it
    per_instance_repeats: list[int] = field(default_factory=list)


def check_lines(consumers: list[ConsumerProcess], expected: Expected) -> LineReport:
    """Every logged total is in its account's running sequence; every running total was logged."""
    # A running total can come back to a value it had (a refund undoing a purchase exactly), so a
    # line repeats only when its (account, total) was already logged as often as the truth has it.
    allowed = {acc: Counter(seq) for acc, seq in expected.sequences.items()}
    seen: dict[str, Counter[str]] = {acc: Counter() for acc in expected.sequences}
    report = LineReport()
    bad: list[str] = []
    for c in consumers:
        repeats = 0
        for line in list(c.lines):
            m = LINE.match(line)
            if not m:
                bad.append(f"not a total line: {line!r}")
                continue
            acc, total = m["account"], m["total"]
            report.lines += 1
            if acc not in allowed or total not in allowed[acc]:
                bad.append(f"{line} is not a running total of {acc}")
                continue
            if seen[acc][total] >= allowed[acc][total]:
                report.repeated += 1
                repeats += 1
            seen[acc][total] += 1
        report.per_instance_repeats.append(repeats)
    assert not bad, f"{len(bad)} wrong lines, e.g. {bad[:5]}"
    missing = {acc: len(allowed[acc].keys() - seen[acc].keys()) for acc in allowed if allowed[acc].keys() - seen[acc].keys()}
    assert not missing, f"running totals never logged (a transaction skipped in the log), per account: {missing}"
    return report


def check_totals_topic(stack, topic: str, expected: Expected, timeout: float = 180) -> None:
    """The committed totals (read_committed) equal the truth, and each transaction was counted once."""
    got = verify.read_totals_topic(
        stack.bootstrap_servers, f"{topic}-totals", expected.totals, timeout=timeout, config=kafka_config(stack)
    )
    assert verify.compare(expected.totals, {a: t.total for a, t in got.items()}) == []
    counts = {a: t.transaction_count for a, t in got.items()}
    assert counts == expected.counts, {
        a: (expected.counts.get(a), counts.get(a)) for a in expected.counts if expected.counts.get(a) != counts.get(a)
    }


def topic_record_count(bootstrap: str, topic: str, config: dict[str, str] | None = None) -> int:
    """Sum of high watermarks (offsets, so commit markers of transactional writers count too)."""
    c = Consumer({**(config or {}), "bootstrap.servers": bootstrap, "group.id": f"count-{time.time_ns()}"})
    try:
        md = c.list_topics(topic, timeout=30)
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in md.topics[topic].partitions)
    finally:
        c.close()


def record_duration(scenario: str, seconds: float, n: int, result: str, **details) -> None:
    """Prints the scenario's duration and keeps it in .stack/faults/durations.json."""
    entry = {
        "seconds": round(seconds, 1),
        "transactions": n,
        "result": result,
        **details,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    print(f"\n[fault] {scenario}: {json.dumps(entry)}", flush=True)
    DURATIONS_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        doc = json.loads(DURATIONS_FILE.read_text())
    except (OSError, ValueError):
        doc = {}
    doc[scenario] = entry
    DURATIONS_FILE.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
