"""The producer's metrics (issue 24): its outcomes and librdkafka's statistics report, as Prometheus text."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry, generate_latest

from txpipe.metrics import ProducerMetrics, summary_fields
from txpipe.producer import Stats

# The shape of a librdkafka statistics report (its STATISTICS.md), cut to the fields read here:
# one real broker and the bootstrap placeholder librdkafka lists beside it.
REPORT = {
    "tx": 42,
    "txmsgs": 1000,
    "txmsg_bytes": 90_000,
    "msg_cnt": 7,
    "msg_size": 630,
    "brokers": {
        "127.0.0.1:9092/1": {
            "nodeid": 1,
            "txretries": 2,
            "txerrs": 1,
            "req_timeouts": 0,
            "rtt": {"p50": 1500, "p99": 12_000},
            "int_latency": {"p50": 300, "p99": 4000},
        },
        "127.0.0.1:9092/bootstrap": {"nodeid": -1, "txretries": 99},
    },
}


def exposition(metrics: ProducerMetrics) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    return generate_latest(registry).decode()


def test_outcomes_are_read_at_each_scrape():
    # Mid-run: failures only are reported, so the acknowledged are the queued neither failed nor in flight.
    stats = Stats(queued=10, failed=1, rejected=3)
    in_flight = [4]
    metrics = ProducerMetrics(stats, lambda: in_flight[0])
    text = exposition(metrics)
    assert 'txpipe_producer_transactions_total{outcome="delivered"} 5.0' in text
    assert 'txpipe_producer_transactions_total{outcome="rejected"} 3.0' in text
    assert "librdkafka_messages_sent" not in text  # no report yet
    in_flight[0] = 0
    assert 'txpipe_producer_transactions_total{outcome="delivered"} 9.0' in exposition(metrics)
    # Settled after a flush that gave up: the ones left are failed, and delivered is the producer's own figure.
    stats.failed, stats.delivered, in_flight[0] = 3, 7, 2
    assert 'txpipe_producer_transactions_total{outcome="delivered"} 7.0' in exposition(metrics)


def test_the_latest_librdkafka_report_is_exposed_for_real_brokers_only():
    metrics = ProducerMetrics(Stats())
    metrics.on_stats("not json")  # ignored
    metrics.on_stats(json.dumps(REPORT))
    text = exposition(metrics)
    assert "librdkafka_messages_sent_total 1000.0" in text
    assert "librdkafka_queue_messages 7.0" in text
    assert 'librdkafka_broker_retries_total{broker="1"} 2.0' in text
    assert 'librdkafka_broker_rtt_seconds{broker="1",quantile="0.99"} 0.012' in text
    assert 'broker="-1"' not in text
    assert summary_fields(metrics.latest()) == " requests=42 retries=2 rtt_p99=12.0ms"
    assert summary_fields(None) == ""
