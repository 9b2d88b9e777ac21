"""The producer's counters for Prometheus: its own outcomes per transaction and librdkafka's statistics.

librdkafka reports its statistics as JSON every ``statistics.interval.ms`` through the ``stats_cb``
callback, which ``poll()`` serves on the sending thread; the callback only keeps the latest report,
and the HTTP thread turns it into metric families when scraped, so a scrape never touches the
producer and the send loop never formats metrics.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# How often librdkafka reports its statistics when metrics are served.
STATS_INTERVAL_MS = 1000


class Outcomes(Protocol):
    """What the producer counts itself (its Stats)."""

    queued: int
    delivered: int
    failed: int
    rejected: int


class ProducerMetrics(Collector):
    """The metrics of one producer run: ``outcomes`` read at each scrape, librdkafka's latest report beside them.

    ``in_flight`` says how many queued records await their delivery report (``len(producer)``). The
    producer asks librdkafka to report failures only, so until the run ends the acknowledged ones are
    the queued ones neither failed nor still in flight.
    """

    def __init__(self, outcomes: Outcomes, in_flight: Callable[[], int] = lambda: 0):
        self.outcomes = outcomes
        self.in_flight = in_flight
        self._latest: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def on_stats(self, report: str) -> None:
        """librdkafka's ``stats_cb``: keeps the latest report (a malformed one is ignored)."""
        try:
            parsed = json.loads(report)
        except ValueError:
            return
        with self._lock:
            self._latest = parsed

    def latest(self) -> dict[str, Any] | None:
        """The last statistics report librdkafka gave, parsed; None before the first."""
        with self._lock:
            return self._latest

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The metric families of a scrape."""
        tx = CounterMetricFamily(
            "txpipe_producer_transactions",
            "Transactions by outcome: queued to librdkafka, delivered (acknowledged), failed, rejected input rows",
            labels=["outcome"],
        )
        o = self.outcomes
        delivered = max(o.delivered, o.queued - o.failed - self.in_flight())
        for outcome, value in (("queued", o.queued), ("delivered", delivered), ("failed", o.failed), ("rejected", o.rejected)):
            tx.add_metric([outcome], value)
        yield tx
        stats = self.latest()
        if stats is None:
            return
        yield _counter("librdkafka_messages_sent", "Messages sent to brokers", stats.get("txmsgs", 0))
        yield _counter("librdkafka_message_bytes_sent", "Message bytes sent to brokers", stats.get("txmsg_bytes", 0))
        yield _counter("librdkafka_requests_sent", "Requests sent to brokers", stats.get("tx", 0))
        yield _gauge("librdkafka_queue_messages", "Messages waiting in the producer's queue", stats.get("msg_cnt", 0))
        yield _gauge("librdkafka_queue_bytes", "Bytes waiting in the producer's queue", stats.get("msg_size", 0))
        brokers = _brokers(stats)
        for name, key, help_text in (
            ("librdkafka_broker_retries", "txretries", "Requests retried, per broker"),
            ("librdkafka_broker_errors", "txerrs", "Request errors, per broker"),
            ("librdkafka_broker_request_timeouts", "req_timeouts", "Requests timed out, per broker"),
        ):
            counter = CounterMetricFamily(name, help_text, labels=["broker"])
            for broker, b in brokers:
                counter.add_metric([broker], b.get(key, 0))
            yield counter
        for name, key, help_text in (
            ("librdkafka_broker_rtt_seconds", "rtt", "Round-trip time of requests, per broker, over the last interval"),
            ("librdkafka_broker_internal_latency_seconds", "int_latency", "Time a message waited in the producer's queue"),
        ):
            gauge = GaugeMetricFamily(name, help_text, labels=["broker", "quantile"])
            for broker, b in brokers:
                window = b.get(key) or {}
                for quantile, field in (("0.5", "p50"), ("0.99", "p99")):
                    gauge.add_metric([broker, quantile], window.get(field, 0) / 1e6)
            yield gauge


def summary_fields(stats: dict[str, Any] | None) -> str:
    """A few of librdkafka's figures for the producer's summary line; empty without a report."""
    if stats is None:
        return ""
    brokers = _brokers(stats)
    retries = sum(b.get("txretries", 0) for _, b in brokers)
    rtt_p99 = max(((b.get("rtt") or {}).get("p99", 0) for _, b in brokers), default=0) / 1000
    return f" requests={stats.get('tx', 0)} retries={retries} rtt_p99={rtt_p99:.1f}ms"


def serve(metrics: ProducerMetrics, port: int, host: str) -> Callable[[], None]:
    """Serves ``metrics`` at http://host:port/metrics on a daemon thread; returns the function that stops it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    server, thread = start_http_server(port, addr=host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def _brokers(stats: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    # Only the cluster's brokers: librdkafka also lists its bootstrap and coordinator placeholders (nodeid -1).
    brokers = stats.get("brokers") or {}
    return sorted((str(b.get("nodeid")), b) for b in brokers.values() if isinstance(b, dict) and b.get("nodeid", -1) >= 0)


def _counter(name: str, help_text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_text, value=value)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)
