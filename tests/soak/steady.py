"""What a soak test needs around a running consumer: a producer at a steady rate that can send
copies of earlier transactions, an RSS sampler, and the arrival time of every line."""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections.abc import Callable
from itertools import pairwise

import psutil
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

from txpipe import generator
from txpipe.producer import Sender, Stats, delivery_settings, producer_config
from txpipe.schema import Transaction
from txpipe.totals import RunningTotals
from txpipe_tools.consumer_runner import ConsumerProcess


class SteadyProducer:
    """Sends generated transactions at ``rate`` per second from a thread until stopped; ``truth``
    holds the exact totals of what should count. ``copy_at`` schedules, at a second of the run,
    a re-send of the transaction sent at another second, and says whether it should count again."""

    def __init__(self, bootstrap: str, registry: str, topic: str, *, rate: float, accounts: int, seed: int) -> None:
        self.rate = rate
        self.stats = Stats()
        conf = producer_config(argparse.Namespace(bootstrap_servers=bootstrap, extra=[]))
        self.producer = Producer({**conf, **delivery_settings(self.stats)})
        serializer = ProtobufSerializer(
            Transaction, SchemaRegistryClient({"url": registry, "timeout": 10}), {"use.deprecated.format": False}
        )
        self.sender = Sender(self.producer, serializer, topic, self.stats, registry_wait=30)
        self.truth = RunningTotals()
        self.sent = 0
        self.copies_counted = 0
        self.copies_dropped = 0
        self._txs = generator.generate(10**9, accounts, seed)
        self._by_second: dict[int, Transaction] = {}
        self._copies: dict[int, tuple[int, bool]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="steady-producer", daemon=True)
        self.started = 0.0

    def copy_at(self, second: int, of_second: int, counts_again: bool) -> None:
        """At ``second`` into the run, send again the first transaction sent at ``of_second``."""
        self._copies[second] = (of_second, counts_again)

    def start(self) -> SteadyProducer:
        first = next(self._txs)
        self.sender.prepare(first)  # the schema is registered before the clock starts
        self._pending_first = first
        self.started = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        tx = self._pending_first
        while not self._stop.is_set():
            wait = self.started + i / self.rate - time.monotonic()
            if wait > 0:
                self.producer.poll(wait)
            second = int(time.monotonic() - self.started)
            if second not in self._by_second:
                kept = Transaction()
                kept.CopyFrom(tx)
                self._by_second[second] = kept
                if second in self._copies:
                    of_second, counts_again = self._copies.pop(second)
                    original = self._by_second[of_second]
                    self.sender.send(original)
                    if counts_again:
                        self.truth.add(original.account_number, original.amount)
                        self.copies_counted += 1
                    else:
                        self.copies_dropped += 1
            self.sender.send(tx)
            self.truth.add(tx.account_number, tx.amount)
            self.sent += 1
            i += 1
            tx = next(self._txs)

    def stop(self) -> None:
        """Stops sending and waits for every delivery; raises if any failed."""
        self._stop.set()
        self._thread.join(30)
        remaining = self.producer.flush(60)
        self.stats.settle(remaining, "not delivered within 60s")
        if self.stats.failed:
            raise AssertionError(f"{self.stats.failed} sends failed: {self.stats.first_error}")


class RssSampler:
    """The RSS of a process every ``every`` seconds, as (seconds since start, bytes); with ``count``
    (lines so far), also its CPU time per line over each interval, as (seconds since start, µs)."""

    def __init__(self, pid: int, every: float = 2.0, count: Callable[[], int] | None = None) -> None:
        self.samples: list[tuple[float, int]] = []
        self.cost: list[tuple[float, float]] = []
        self._count = count
        self._proc = psutil.Process(pid)
        self._every = every
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_cpu, last_n = None, None
        while not self._stop.wait(self._every):
            try:
                at = time.monotonic() - self._started
                self.samples.append((at, self._proc.memory_info().rss))
                if self._count is not None:
                    cpu = sum(self._proc.cpu_times()[:2])
                    n = self._count()
                    if last_n is not None and n > last_n:
                        self.cost.append((at, (cpu - last_cpu) / (n - last_n) * 1e6))
                    last_cpu, last_n = cpu, n
            except psutil.NoSuchProcess:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


class LineClock:
    """Arrival time (monotonic, and wall clock) of every line the consumer prints; pass ``on_line`` as its echo."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.wall: list[float] = []

    def on_line(self, line: str) -> None:
        self.times.append(time.monotonic())
        self.wall.append(time.time())

    def gaps_between(self, start: float, end: float) -> list[float]:
        """Gaps in seconds between consecutive lines that both arrived within [start, end]."""
        ts = [t for t in self.times if start <= t <= end]
        return [b - a for a, b in pairwise(ts)]

    def gaps_around(self, moments: list[float], within: float) -> list[float]:
        """Gaps between consecutive lines of which one arrived within ``within`` s of a wall-clock moment."""
        pairs = list(pairwise(self.wall))
        return [b - a for a, b in pairs if any(a - within <= m <= b + within for m in moments)]


def wait_until(condition: Callable[[], bool], timeout: float, what: str, consumer: ConsumerProcess) -> None:
    """Waits for ``condition``; fails naming ``what`` did not happen, with the consumer's log tail."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert consumer.alive(), f"the consumer exited while waiting for {what}:\n{consumer.stderr_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s:\n{consumer.stderr_text()[-3000:]}"
        time.sleep(0.2)


FORGOT = re.compile(r"forgot about (\d+) transaction ids .* closing their segment in (\d+) ms")
FORGOT_AT = re.compile(r"^(\S+) .*forgot about \d+ transaction ids", re.M)


def forgetting_moments(log: str) -> list[float]:
    """Wall-clock times (epoch seconds) at which the consumer logged dropping a segment."""
    from datetime import datetime

    return [datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in FORGOT_AT.findall(log)]


def forgotten_segments(log: str) -> list[tuple[int, int]]:
    """(ids, ms to close) of every segment the consumer dropped, from its log."""
    return [(int(m[1]), int(m[2])) for m in FORGOT.finditer(log)]


def troubles(log: str) -> list[str]:
    """Log lines that show a restore, a fencing, a thread replacement or a rebalance after start-up."""
    after_start = log.split("-> RUNNING", 1)[1] if "-> RUNNING" in log else log
    bad = re.compile(r"restor|fenced|replacing it|TaskCorrupted|-> REBALANCING|-> ERROR", re.IGNORECASE)
    shutdown = after_start.find("shutdown requested")
    body = after_start if shutdown < 0 else after_start[:shutdown]
    return [line for line in body.splitlines() if bad.search(line)]
