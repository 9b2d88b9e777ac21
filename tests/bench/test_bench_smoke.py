"""The benchmark keeps working: a tiny run (bench.run --smoke) produces every figure.

This checks that each figure is there and positive, never how fast anything is: on a shared
2-core machine timings are noise. It starts its own local stack, so it is an integration test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _numbers(d: dict, *keys: str) -> dict:
    return {k: d.get(k) for k in keys}


def _positive(where: str, figures: dict) -> None:
    for key, value in figures.items():
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}.{key} missing: {value!r}"
        assert value > 0, f"{where}.{key} should be > 0, got {value}"


def test_bench_smoke_writes_every_figure(tmp_path: Path) -> None:
    import matplotlib  # noqa: F401  (requirements-bench.txt, part of requirements-dev.txt: missing is a failure)
    import psutil  # noqa: F401

    jar = ROOT / "scala" / "target" / "txpipe-consumer.jar"
    assert jar.is_file(), "the consumer jar is needed: make consumer-jar"
    out = tmp_path / "bench"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    r = json.loads((out / "results.json").read_text())

    assert r["machine"]["cpu"] and r["machine"]["cores"] > 0 and r["machine"]["ram_gib"] > 0
    assert r["consumer_class_archive"] is True, "the consumer runs should map a class-data archive"
    for name in ("kafka", "python", "confluent_kafka", "java"):
        assert r["versions"][name], name

    _positive("warm_up", _numbers(r["warm_up"], "records", "consumer_wall_s"))

    p = r["producer"]
    _positive(
        "producer.ours",
        _numbers(p["ours"], "records_per_s", "mib_per_s", "wall_records_per_s", "peak_rss_mib", "avg_record_bytes"),
    )
    _positive(
        "producer.producer_performance",
        _numbers(p["producer_performance"], "records_per_s", "mib_per_s", "peak_rss_mib", "record_size"),
    )
    _positive("producer", _numbers(p, "ratio", "ratio_wall"))

    c = r["consumer"]
    for side in ("ours_eos", "ours_alos"):
        _positive(
            f"consumer.{side}", _numbers(c[side], "wall_records_per_s", "steady_records_per_s", "peak_rss_mib", "us_per_tx")
        )
    _positive(
        "consumer.consumer_performance",
        _numbers(c["consumer_performance"], "records_per_s", "wall_records_per_s", "peak_rss_mib"),
    )
    _positive("consumer", _numbers(c, "ratio_eos", "ratio_alos", "misplaced_cost"))
    _positive("consumer.ours_eos_misplaced", _numbers(c["ours_eos_misplaced"], "wall_records_per_s", "moved_share"))
    # fnv1a and murmur2 agree on about one partition in six: most records must have moved.
    assert 0.5 < c["ours_eos_misplaced"]["moved_share"] < 1.0

    lat = r["latency"]
    assert set(lat["rates"]) == {"1000", "10000"}
    for rate, d in lat["rates"].items():
        _positive(
            f"latency.{rate}", _numbers(d["ours"], "p50_ms", "p95_ms", "p99_ms", "p999_ms", "received", "achieved_send_rate")
        )
    _positive("latency.10000.ours_linger0", _numbers(lat["rates"]["10000"]["ours_linger0"], "p50_ms", "p99_ms", "received"))
    e2e = lat["end_to_end_latency"]
    _positive("latency.end_to_end_latency", _numbers(e2e, "avg_ms"))
    for key in ("p50_ms", "p99_ms", "p999_ms"):  # whole milliseconds: 0 is a real answer on a fast broker
        assert isinstance(e2e[key], (int, float)) and e2e[key] >= 0, key

    rows = r["growth"]["rows"]
    assert len({row["transactions"] for row in rows}) >= 2 and len({row["accounts"] for row in rows}) >= 2
    for row in rows:
        _positive(
            f"growth[{row['transactions']},{row['accounts']}]",
            _numbers(
                row,
                "producer_us_per_tx",
                "producer_steady_us_per_tx",
                "consumer_us_per_tx",
                "consumer_steady_us_per_tx",
                "producer_peak_rss_mib",
                "consumer_peak_rss_mib",
                "producer_reps",
                "consumer_reps",
            ),
        )

    kept = [row for row in rows if row["accounts"] == r["params"]["accounts"]]
    _positive("growth, consumer kept running", {f"{row['transactions']}": row.get("consumer_running_us_per_tx") for row in kept})

    sv = r["service"]
    _positive(
        "service",
        _numbers(sv, "drain_service_off_records_per_s", "drain_service_on_records_per_s", "drain_ratio_on_off"),
    )
    assert sv["requests_per_s_during_drain"] > 0, "the drain with the service on was never asked"
    _positive("service.idle", _numbers(sv["idle"], "requests_per_s", "p50_ms", "p99_ms"))
    assert sv["idle"]["non_200"] == 0, sv["idle"]

    assert r["targets"] and all(t["value"] is not None for t in r["targets"])
    table = (out / "README-table.md").read_text()
    assert "ProducerPerformance" in table and "ConsumerPerformance" in table and "EndToEndLatency" in table
    assert "producer linger.ms=0" in table
    assert "A consumer kept running" in table
    assert "The consumer's HTTP service" in table and "GET /accounts/{account} per second" in table
    png = out / "bench-summary.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
