"""Kafka's own performance tools (kafka-tools 4.2.2, from the local stack's jars), run and parsed."""

from __future__ import annotations

import re
import time
from pathlib import Path

from bench.common import MIB, SECURITY, kafka_tool_cmd, run
from txpipe_tools.local_stack import read_properties

_PP = re.compile(
    r"(?P<n>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), (?P<avg>[\d.]+) ms avg latency, "
    r"(?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, (?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99.9th"
)
_E2E_AVG = re.compile(r"Avg latency: (?P<avg>[\d.]+) ms")
_E2E_PCT = re.compile(r"Percentiles: 50th = (?P<p50>\d+), 99th = (?P<p99>\d+), 99.9th = (?P<p999>\d+)")


def _command_config(role: str) -> list[str]:
    """--command-config with the secured stack's Java client file of ``role``; nothing in plaintext."""
    path = SECURITY.java_file(role)
    return ["--command-config", path] if path else []


def producer_settings(librdkafka_conf: dict) -> dict[str, str]:
    """The Java producer settings that match our librdkafka producer's.

    acks, idempotence, linger and compression come from ``txpipe.producer.producer_config``;
    batch.size is librdkafka's default (1,000,000 bytes), which our config does not change.
    """
    return {
        "acks": "all",
        "enable.idempotence": "true",
        "linger.ms": str(librdkafka_conf.get("linger.ms", 5)),
        "batch.size": str(librdkafka_conf.get("batch.size", 1_000_000)),
        "compression.type": str(librdkafka_conf.get("compression.type", "none")),
    }


def producer_performance(
    bootstrap: str, topic: str, count: int, record_size: int, settings: dict[str, str], workdir: Path, name: str, timeout: float
) -> dict:
    props = [f"{k}={v}" for k, v in settings.items()]
    cmd = kafka_tool_cmd(
        "ProducerPerformance",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--num-records",
        str(count),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        *_command_config("producer"),
        "--command-property",
        *props,
    )
    p = run(cmd, workdir, name, timeout)
    summaries = list(_PP.finditer(p.stdout_text()))
    m = summaries[-1] if summaries else None
    if m is None:
        raise RuntimeError(f"ProducerPerformance printed no summary; see {p.stdout_path}")
    rps = float(m["rps"])
    return {
        "records": int(m["n"]),
        "records_per_s": rps,
        "mib_per_s": rps * record_size / MIB,
        "wall_s": p.wall,
        "wall_records_per_s": count / p.wall,
        "peak_rss_mib": p.peak_rss / MIB,
        "send_latency_ms": {k: float(m[k]) for k in ("avg", "p50", "p95", "p99", "p999")},
    }


def consumer_performance(bootstrap: str, topic: str, count: int, workdir: Path, name: str, timeout: float) -> dict:
    cmd = kafka_tool_cmd(
        "ConsumerPerformance",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--num-records",
        str(count),
        "--timeout",
        "30000",
        "--group",
        f"bench-cp-{time.time_ns()}",
        *_command_config("consumer"),
    )
    p = run(cmd, workdir, name, timeout)
    rows = [line.split(",") for line in p.stdout_text().splitlines() if line.count(",") == 9 and "start.time" not in line]
    if not rows:
        raise RuntimeError(f"ConsumerPerformance printed no result; see {p.stdout_path}")
    f = [x.strip() for x in rows[-1]]
    consumed = int(f[4])
    if consumed < count:
        raise RuntimeError(f"ConsumerPerformance read {consumed} of {count} records")
    return {
        "records": consumed,
        "mib": float(f[2]),
        "records_per_s": float(f[5]),  # its own figure, join/rebalance included
        "fetch_records_per_s": float(f[9]),  # its own figure, rebalance excluded
        "wall_s": p.wall,
        "wall_records_per_s": count / p.wall,
        "peak_rss_mib": p.peak_rss / MIB,
    }


def end_to_end_latency(
    bootstrap: str, topic: str, count: int, record_size: int, settings: dict[str, str], workdir: Path, name: str, timeout: float
) -> dict:
    """EndToEndLatency: one record at a time, produce then consume it; whole-ms percentiles."""
    config = workdir / f"{name}.properties"
    # Same producer settings as ours except acks (given positionally); unknown keys are only warned about.
    # EndToEndLatency then sets linger.ms=0 over the file's value: it sends one record and waits for it.
    # On a secured stack, the producer user's TLS and SASL settings first (it may read and write bench topics).
    security = read_properties(SECURITY.java_file("producer")) if SECURITY.files else {}
    security = {k: v for k, v in security.items() if not k.startswith("schema.registry.")}
    config.write_text("".join(f"{k}={v}\n" for k, v in {**security, **settings}.items() if k != "acks"))
    cmd = kafka_tool_cmd(
        "EndToEndLatency",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--num-records",
        str(count),
        "--producer-acks",
        "all",
        "--record-size",
        str(record_size),
        "--command-config",
        str(config),
    )
    p = run(cmd, workdir, name, timeout)
    out = p.stdout_text()
    avg, pct = _E2E_AVG.search(out), _E2E_PCT.search(out)
    if not avg or not pct:
        raise RuntimeError(f"EndToEndLatency printed no percentiles; see {p.stdout_path}")
    return {
        "records": count,
        "avg_ms": float(avg["avg"]),
        "p50_ms": float(pct["p50"]),
        "p95_ms": None,
        "p99_ms": float(pct["p99"]),
        "p999_ms": float(pct["p999"]),
        "wall_s": p.wall,
    }
