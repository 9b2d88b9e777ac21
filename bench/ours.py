"""Our producer (the CLI) and our Kafka Streams consumer (the fat jar), run and timed."""

from __future__ import annotations

import gc
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import CONSUMER_JAR, MIB, PY, SECURITY, Proc, java, log, run
from bench.workload import Workload, running_lines
from txpipe_tools.class_archive import mapping_flags
from txpipe_tools.consumer_runner import consumer_command as runner_command

_SUMMARY = re.compile(r"sent=(?P<sent>\d+) delivered=(?P<delivered>\d+) failed=(?P<failed>\d+).*elapsed=(?P<elapsed>[\d.]+)s")
_LINE = re.compile(rb"^\((?P<account>.*), (?P<total>-?\d+\.\d+)\)$")


def producer(
    bootstrap: str,
    registry: str,
    topic: str,
    wl: Workload,
    workdir: Path,
    name: str,
    timeout: float,
    extra: list[str] | None = None,
) -> dict:
    """``python -m txpipe.producer`` sending the workload; its own elapsed and the wall time."""
    cmd = [
        PY,
        "-m",
        "txpipe.producer",
        "-b",
        bootstrap,
        "-s",
        registry,
        "-t",
        topic,
        "-n",
        str(wl.count),
        "-a",
        str(wl.accounts),
        "--seed",
        str(wl.seed),
        "-q",
        *SECURITY.producer_flags(),
        *(extra or []),
    ]
    p = run(cmd, workdir, name, timeout)
    m = _SUMMARY.search(p.stdout_text())
    if not m or int(m["delivered"]) != wl.count:
        raise RuntimeError(f"producer did not deliver {wl.count}: {p.stdout_text()[-500:]}")
    elapsed = float(m["elapsed"])
    if elapsed <= 0:
        raise RuntimeError(f"producer reported elapsed={m['elapsed']}s for {wl.count} tx: too few to time")
    rps = wl.count / elapsed
    return {
        "records": wl.count,
        "records_per_s": rps,
        "mib_per_s": rps * wl.avg_record_bytes / MIB,
        "wall_s": p.wall,
        "wall_records_per_s": wl.count / p.wall,
        "us_per_tx": p.wall / wl.count * 1e6,
        "peak_rss_mib": p.peak_rss / MIB,
    }


def consumer_command(
    bootstrap: str,
    registry: str,
    topic: str,
    group: str,
    state_dir: Path,
    guarantee: str,
    extra: list[str] | None = None,
    jvm: list[str] | None = None,
    jar: Path = CONSUMER_JAR,
) -> list[str]:
    """The JVM command line ConsumerProcess uses (JVM_FLAGS, the class archive if one matches the jar,
    then `jvm`), with a private state dir."""
    return runner_command(
        jar,
        bootstrap,
        registry,
        topic,
        group,
        java=java(),
        archive_flags=[*mapping_flags(jar), *(jvm or [])],
        extra=["--state-dir", str(state_dir), "--processing-guarantee", guarantee, *SECURITY.consumer_flags(), *(extra or [])],
    )


def consumer_drain(
    bootstrap: str,
    registry: str,
    topic: str,
    wl: Workload,
    guarantee: str,
    workdir: Path,
    name: str,
    timeout: float,
    extra: list[str] | None = None,
    jvm: list[str] | None = None,
    jar: Path = CONSUMER_JAR,
) -> dict:
    """Starts a fresh consumer group on a full topic; times it until every account's final total is logged.

    stdout goes to a file (as in production); the harness tails it. Until N lines exist it only counts
    newlines (cheap, so the harness steals little CPU); then it checks the last total of every account.
    """
    group = f"bench-{name}-{time.time_ns()}"
    state_dir = workdir / f"{name}-state"
    cmd = consumer_command(bootstrap, registry, topic, group, state_dir, guarantee, extra, jvm, jar)
    p = Proc(cmd, workdir / f"{name}.out", workdir / f"{name}.err").start()
    lines = 0
    first_line_at = done_at = None
    cpu_s = 0.0
    buf = b""
    last: dict[bytes, bytes] = {}
    expected = {k.encode(): v.encode() for k, v in wl.final_totals.items()}
    try:
        with open(p.stdout_path, "rb") as f:
            deadline = p.started + timeout
            while done_at is None:
                chunk = f.read(1 << 20)
                now = time.monotonic()
                if not chunk:
                    if p.popen.poll() is not None:
                        raise RuntimeError(f"{name}: consumer exited with {p.popen.returncode}; see {p.stderr_path}")
                    if now > deadline:
                        raise TimeoutError(f"{name}: {lines} of {wl.count} lines after {timeout:.0f}s; see {p.stderr_path}")
                    time.sleep(0.02)
                    continue
                if first_line_at is None:
                    first_line_at = now
                lines += chunk.count(b"\n")
                buf += chunk
                if lines >= wl.count:
                    *complete, buf = buf.split(b"\n")
                    for raw in complete:
                        m = _LINE.match(raw)
                        if m:
                            last[m["account"]] = m["total"]
                    if all(last.get(a) == t for a, t in expected.items()):
                        done_at = now
                        cpu_s = cpu_seconds(p.pid)
                elif len(buf) > (64 << 20):  # keep only whole lines' worth of the tail in memory
                    *complete, buf = buf.split(b"\n")
                    for raw in complete:
                        m = _LINE.match(raw)
                        if m:
                            last[m["account"]] = m["total"]
    finally:
        p.stop()
    wall = done_at - p.started
    steady = done_at - first_line_at if first_line_at and done_at > first_line_at else wall
    return {
        "guarantee": guarantee,
        "returncode": p.popen.returncode,
        "records": wl.count,
        "lines": lines,
        "wall_s": wall,
        "wall_records_per_s": wl.count / wall,
        "first_line_after_s": first_line_at - p.started,
        "steady_records_per_s": wl.count / steady,
        "us_per_tx": wall / wl.count * 1e6,
        # CPU time of the consumer's process (all threads, start-up included) per transaction:
        # unlike the clock, barely moved by other work on the machine.
        "cpu_us_per_tx": cpu_s / wl.count * 1e6,
        "peak_rss_mib": p.peak_rss / MIB,
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds used so far by process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_running(p: Proc, timeout: float) -> None:
    """Until Kafka Streams logs its RUNNING state on stderr."""
    deadline = time.monotonic() + timeout
    while "-> RUNNING" not in p.stderr_text():
        if p.popen.poll() is not None:
            raise RuntimeError(f"consumer exited with {p.popen.returncode}; see {p.stderr_path}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"consumer not RUNNING after {timeout:.0f}s; see {p.stderr_path}")
        time.sleep(0.1)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[i]


@contextmanager
def live_consumer(cmd: list[str], workdir: Path, name: str, on_line: Callable[[bytes], None]) -> Iterator[Proc]:
    """A consumer started with `cmd` whose stdout lines each go to `on_line` from a reader thread as they
    arrive; entered once Streams is RUNNING, stopped on exit.

    This process's garbage collector is off meanwhile: one collection would stop the reader for tens
    of milliseconds and charge that to the pipeline. What the callers keep of the lines holds no cycles.
    """
    cons = Proc(cmd, workdir / f"{name}.consumer.out", workdir / f"{name}.consumer.err", stdout_pipe=True).start()

    def reader() -> None:
        for raw in cons.popen.stdout:
            on_line(raw)

    t = threading.Thread(target=reader, daemon=True)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    t.start()
    try:
        wait_running(cons, 120)
        yield cons
    finally:
        cons.stop()
        t.join(5)
        if gc_was_enabled:
            gc.enable()


def latency(
    bootstrap: str,
    registry: str,
    topic: str,
    rate: int,
    seconds: float,
    warmup_s: float,
    accounts: int,
    seed: int,
    workdir: Path,
    name: str,
    timeout: float,
    extra: list[str] | None = None,
    jvm: list[str] | None = None,
    producer_extra: list[str] | None = None,
) -> dict:
    """Send time (wall clock at produce, per transaction) to the moment the consumer's line is read.

    The consumer runs live (exactly_once_v2, stdout read through a pipe and time-stamped on arrival by a
    thread of this process); the producer runs in its own process (bench.latency_producer, txpipe's Sender)
    at a fixed rate, recording time.time() before each send. A line is matched to its transaction by
    (account, running total), which the harness recomputes from the generator.
    """
    from confluent_kafka.admin import AdminClient

    from txpipe.producer import ensure_topic

    ensure_topic(AdminClient({**SECURITY.librdkafka(), "bootstrap.servers": bootstrap}), topic, 6, 1)
    group = f"bench-{name}-{time.time_ns()}"
    cmd = consumer_command(bootstrap, registry, topic, group, workdir / f"{name}-state", "exactly_once_v2", extra, jvm)
    arrivals: list[tuple[float, bytes]] = []
    count = int(rate * (seconds + warmup_s))
    warmup = int(rate * warmup_s)
    sends_path = workdir / f"{name}.sends"
    with live_consumer(cmd, workdir, name, lambda raw, clock=time.time: arrivals.append((clock(), raw))) as cons:
        run(
            [
                PY,
                "-m",
                "bench.latency_producer",
                "-b",
                bootstrap,
                "-s",
                registry,
                "-t",
                topic,
                "-n",
                str(count),
                "-a",
                str(accounts),
                "--seed",
                str(seed),
                "-r",
                str(rate),
                "--out",
                str(sends_path),
                *SECURITY.producer_flags(),
                *(producer_extra or []),
            ],
            workdir,
            f"{name}.producer",
            timeout,
        )
        from array import array

        sends = array("d")
        with open(sends_path, "rb") as f:
            sends.frombytes(f.read())
        expected = running_lines(count, accounts, seed)
        index = {}
        for i, (acc, tot) in enumerate(expected):
            index.setdefault((acc.encode(), tot.encode()), i)
        deadline = time.monotonic() + 60
        while len(arrivals) < count and time.monotonic() < deadline and cons.popen.poll() is None:
            time.sleep(0.1)
    got: dict[int, float] = {}
    for ts, raw in arrivals:
        m = _LINE.match(raw.rstrip(b"\n"))
        if m:
            i = index.get((m["account"], m["total"]))
            if i is not None and i not in got:
                got[i] = ts - sends[i]
    lat = sorted(v * 1000 for i, v in got.items() if i >= warmup)
    measured = count - warmup
    achieved = (measured - 1) / (sends[-1] - sends[warmup]) if measured > 1 and sends[-1] > sends[warmup] else 0.0
    if len(lat) < measured:
        log(f"{name}: only {len(lat)} of {measured} measured transactions were logged within the wait")
    return {
        "rate": rate,
        "achieved_send_rate": achieved,
        "sent": measured,
        "received": len(lat),
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "p99_ms": percentile(lat, 99),
        "p999_ms": percentile(lat, 99.9),
        "max_ms": lat[-1] if lat else 0.0,
        "consumer_peak_rss_mib": cons.peak_rss / MIB,
    }


def consumer_bursts(
    bootstrap: str, registry: str, topic: str, warmup: Workload, bursts: list[Workload], workdir: Path, name: str, timeout: float
) -> list[float]:
    """One consumer kept running (exactly_once_v2) while our producer sends `warmup`, then each of
    `bursts` in turn; for each burst, the seconds from its first logged line to its last.

    The drains of the growth step start a new JVM for every size, so their small sizes carry the
    JIT's warm-up; a service that is already running does not. Each burst is sent only after the
    one before has been logged in full, and the producer runs while the consumer works, as it
    would in service. At the end every account's last line must equal the sum of its totals over
    all the workloads sent.
    """
    from array import array
    from decimal import Decimal

    from confluent_kafka.admin import AdminClient

    from txpipe.producer import ensure_topic

    ensure_topic(AdminClient({**SECURITY.librdkafka(), "bootstrap.servers": bootstrap}), topic, 6, 1)
    cmd = consumer_command(
        bootstrap, registry, topic, f"bench-{name}-{time.time_ns()}", workdir / f"{name}-state", "exactly_once_v2"
    )
    stamps = array("d")
    last: dict[bytes, bytes] = {}

    def on_line(raw: bytes, stamp=stamps.append, clock=time.monotonic) -> None:
        stamp(clock())
        last[raw[1 : raw.find(b",")]] = raw

    expected: dict[str, Decimal] = {}
    spans = []
    sent = warmup.count + sum(wl.count for wl in bursts)
    with live_consumer(cmd, workdir, name, on_line) as cons:
        for i, wl in enumerate([warmup, *bursts]):
            first = len(stamps)
            producer(bootstrap, registry, topic, wl, workdir, f"{name}-{i}", timeout)
            for acc, total in wl.final_totals.items():
                expected[acc] = expected.get(acc, Decimal(0)) + Decimal(total)
            deadline = time.monotonic() + timeout
            while len(stamps) < first + wl.count:
                if cons.popen.poll() is not None:
                    raise RuntimeError(f"{name}: consumer exited with {cons.popen.returncode}; see {cons.stderr_path}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name}: {len(stamps) - first} of {wl.count} lines of burst {i} after {timeout:.0f}s")
                time.sleep(0.01)
            if i:
                spans.append(stamps[first + wl.count - 1] - stamps[first])
        time.sleep(0.5)  # a line beyond the ones sent would show up here
        if len(stamps) != sent:
            raise RuntimeError(f"{name}: {len(stamps)} lines for {sent} transactions")
    for acc, total in expected.items():
        m = _LINE.match(last.get(acc.encode(), b"").rstrip(b"\n"))
        if not m or Decimal(m["total"].decode()) != total:
            raise RuntimeError(f"{name}: {acc} last logged {last.get(acc.encode())!r}, expected total {total}")
    return spans
