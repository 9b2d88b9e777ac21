"""The consumer as a long-running service: at a steady rate for many retention periods its memory
stays flat, nothing restores or is fenced, ids are forgotten and totals stay exact; with a large
store, forgetting it does not stall the stream thread.

Sizes come from the environment, so `make test` runs them short and `make test-soak` long:
TXPIPE_SOAK_SECONDS (steady test), TXPIPE_SOAK_PRELOAD and TXPIPE_SOAK_PRELOAD_RETENTION
(large-store test), TXPIPE_SOAK_RATE, and TXPIPE_SOAK_REPORT (a JSON file of the figures).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from txpipe import generator
from txpipe.totals import RunningTotals
from txpipe_tools.consumer_runner import ConsumerProcess

from .steady import LineClock, RssSampler, SteadyProducer, forgetting_moments, forgotten_segments, troubles, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.soak]

SECONDS = int(os.environ.get("TXPIPE_SOAK_SECONDS", "150"))
RATE = float(os.environ.get("TXPIPE_SOAK_RATE", "300"))
PRELOAD = int(os.environ.get("TXPIPE_SOAK_PRELOAD", "200000"))
PRELOAD_RETENTION = int(os.environ.get("TXPIPE_SOAK_PRELOAD_RETENTION", "60"))
REPORT = os.environ.get("TXPIPE_SOAK_REPORT")
RETENTION = 60
# The stream thread may stop for a commit or a collection, never this long.
MAX_PAUSE = 0.100


def report(name: str, figures: dict) -> None:
    """Adds one test's figures to TXPIPE_SOAK_REPORT, if set, and prints them."""
    print(f"\n{name}: " + json.dumps({k: v for k, v in figures.items() if not isinstance(v, list)}))
    if REPORT:
        path = Path(REPORT)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = figures
        path.write_text(json.dumps(data, indent=1))


def start_consumer(stack, topic: str, tmp_path: Path, retention_s: int, clock: LineClock) -> ConsumerProcess:
    consumer = ConsumerProcess(
        stack.bootstrap_servers,
        stack.schema_registry_url,
        topic,
        f"g-{topic}",
        extra_args=[
            "--state-dir",
            str(tmp_path / "state"),
            "--dedupe-retention",
            f"{retention_s}s",
            "--topic-wait-seconds",
            "60",
        ],
        log_dir=tmp_path / "logs",
        echo=clock.on_line,
    ).start()
    wait_until(lambda: "-> RUNNING" in consumer.stderr_text(), 90, "the consumer reaching RUNNING", consumer)
    return consumer


def create_topic(stack, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    for future in admin.create_topics([NewTopic(topic, 6, 1)]).values():
        future.result(timeout=30)


def thirds(samples: list[tuple[float, int]], end: float) -> tuple[float, float]:
    """Mean RSS of the middle and the last third of [0, end]."""
    middle = [r for t, r in samples if end / 3 <= t < 2 * end / 3]
    last = [r for t, r in samples if t >= 2 * end / 3]
    assert middle and last, f"too few RSS samples: {len(samples)}"
    return statistics.fmean(middle), statistics.fmean(last)


def test_steady_flow_over_many_retention_periods(soak_stack, topic, tmp_path):
    assert SECONDS >= 2 * RETENTION + 30, "the run must pass at least two retention periods"
    create_topic(soak_stack, topic)
    clock = LineClock()
    consumer = start_consumer(soak_stack, topic, tmp_path, RETENTION, clock)
    rss = RssSampler(consumer.pid, count=lambda: len(clock.times))
    producer = SteadyProducer(
        soak_stack.bootstrap_servers, soak_stack.schema_registry_url, topic, rate=RATE, accounts=100, seed=2024
    )
    # A copy within the retention is dropped; one sent after it counts again.
    producer.copy_at(20, 2, counts_again=False)
    producer.copy_at(RETENTION + 25, 5, counts_again=True)
    producer.copy_at(2 * RETENTION + 20, RETENTION + 10, counts_again=True)
    try:
        producer.start()
        steady_from = time.monotonic() + 15
        while time.monotonic() - producer.started < SECONDS:
            assert consumer.alive(), consumer.stderr_text()[-3000:]
            time.sleep(1)
        steady_to = time.monotonic()
        producer.stop()
        consumer.wait_for_totals(producer.truth.formatted(), timeout=120)
    finally:
        rss.stop()
        code = consumer.stop()
    log = consumer.stderr_text()
    assert code in (0, 143), log[-3000:]
    assert troubles(log) == [], "\n".join(troubles(log))

    counted = producer.sent + producer.copies_counted
    assert f"counts at shutdown: counted={counted} duplicates_dropped={producer.copies_dropped} " in log, log[-2000:]
    segments = forgotten_segments(log)
    # Segments are half a retention wide: the run forgets most of what it sent before its last retention.
    assert len(segments) >= (SECONDS - RETENTION) // (RETENTION // 2) - 2, segments
    middle, last = thirds(rss.samples, SECONDS)
    gaps = clock.gaps_between(steady_from, steady_to)
    figures = {
        "seconds": SECONDS,
        "rate": RATE,
        "retention_s": RETENTION,
        "transactions": counted,
        "rss_middle_mib": round(middle / 2**20, 1),
        "rss_last_mib": round(last / 2**20, 1),
        "segments_forgotten": len(segments),
        "ids_forgotten": sum(n for n, _ in segments),
        "segment_close_ms_max": max(ms for _, ms in segments),
        "max_gap_ms": round(max(gaps) * 1000, 1),
        "cpu_us_per_tx_first_third": round(statistics.fmean(c for t, c in rss.cost if t < SECONDS / 3), 1),
        "cpu_us_per_tx_last_third": round(statistics.fmean(c for t, c in rss.cost if t >= 2 * SECONDS / 3), 1),
        "rss_samples": rss.samples,
        "cpu_us_per_tx": rss.cost,
        "segment_close_ms": [ms for _, ms in segments],
    }
    report("steady", figures)
    assert abs(last - middle) <= 0.10 * middle, f"RSS moved from {middle / 2**20:.1f} MiB to {last / 2**20:.1f} MiB"


def test_a_large_store_forgets_without_stalling_the_stream_thread(soak_stack, topic, tmp_path):
    create_topic(soak_stack, topic)
    clock = LineClock()
    consumer = start_consumer(soak_stack, topic, tmp_path, PRELOAD_RETENTION, clock)
    try:
        loaded = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "txpipe.producer",
                "-b",
                soak_stack.bootstrap_servers,
                "-s",
                soak_stack.schema_registry_url,
                "-t",
                topic,
                "-q",
                "-n",
                str(PRELOAD),
                "-a",
                "1000",
                "--seed",
                "7",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        truth = RunningTotals()
        for tx in generator.generate(PRELOAD, 1000, 7):
            truth.add(tx.account_number, tx.amount)
        consumer.wait_for_totals(truth.formatted(), timeout=120 + PRELOAD / 10000)
        drained = time.monotonic()

        # A steady flow until the preloaded ids' segments have been forgotten, and a little longer.
        rss = RssSampler(consumer.pid, count=lambda: len(clock.times))
        producer = SteadyProducer(
            soak_stack.bootstrap_servers, soak_stack.schema_registry_url, topic, rate=RATE, accounts=1000, seed=8
        )
        producer.truth = truth
        producer.start()
        forget_by = loaded + 1.5 * PRELOAD_RETENTION + 20

        def preload_forgotten() -> bool:
            return sum(n for n, _ in forgotten_segments(consumer.stderr_text())) >= 0.9 * PRELOAD

        wait_until(preload_forgotten, forget_by - time.monotonic() + 60, "the preloaded ids being forgotten", consumer)
        time.sleep(10)
        steady_to = time.monotonic()
        producer.stop()
        consumer.wait_for_totals(truth.formatted(), timeout=120)
        rss.stop()
    finally:
        code = consumer.stop()
    log = consumer.stderr_text()
    assert code in (0, 143), log[-3000:]
    assert troubles(log) == [], "\n".join(troubles(log))
    segments = forgotten_segments(log)
    gaps = clock.gaps_between(producer.started + 5, steady_to)
    # The gaps around each dropped segment: what forgetting the preloaded ids cost the flow. The
    # consumer logs the drop as it ends, so a stall is the gap spanning that moment; 50 ms either
    # side allows for this process reading the lines late, without taking in a tenth of a second
    # of unrelated lines, where the busy machine's own hiccups would be blamed on forgetting.
    around = clock.gaps_around(forgetting_moments(log), within=0.05)
    figures = {
        "preload": PRELOAD,
        "retention_s": PRELOAD_RETENTION,
        "rate": RATE,
        "drain_s": round(drained - loaded, 1),
        "steady_s": round(steady_to - producer.started, 1),
        "segments": segments,
        "max_gap_ms": round(max(gaps) * 1000, 1),
        "max_gap_around_forgetting_ms": round(max(around, default=0) * 1000, 1),
        "gaps_over_100ms": [round(g * 1000, 1) for g in gaps if g > MAX_PAUSE],
        "rss_samples": rss.samples,
        "cpu_us_per_tx": rss.cost,
    }
    report("large_store", figures)
    assert around, "no line arrived around a dropped segment: the flow was not steady while the store forgot"
    assert max(ms for _, ms in segments) < MAX_PAUSE * 1000, segments
    # A pause anywhere else (a broker collection, the machine) is reported above, not blamed on forgetting.
    assert max(around) <= MAX_PAUSE, (
        f"the flow stopped for {max(around) * 1000:.0f} ms while the consumer forgot a segment (segments {segments})"
    )
