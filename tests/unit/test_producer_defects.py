"""Issue 20's producer defects: stopping, exit codes, the demo's seed, settings from the environment."""

from __future__ import annotations

from txpipe import producer
from txpipe.generator import generate

BASE = ["-b", "127.0.0.1:1", "-s", "http://127.0.0.1:1", "-t", "t"]


def _serializer(name):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

    from txpipe.schema import Transaction

    return ProtobufSerializer(
        Transaction, SchemaRegistryClient.new_client({"url": f"mock://{name}"}), {"use.deprecated.format": False}
    )


class _FullQueue:
    """A producer whose local queue never has room, as with a broker that never answers."""

    def __init__(self, stop, stop_after_polls=5):
        self.stop, self.stop_after_polls, self.polls = stop, stop_after_polls, 0

    def produce(self, topic, value, key, on_delivery=None):
        raise BufferError("queue full")

    def poll(self, timeout=0):
        self.polls += 1
        if self.polls == self.stop_after_polls:
            self.stop.requested = True  # SIGTERM arrives while the loop waits for room
        if self.polls > 1000:
            raise AssertionError("still waiting for queue room long after SIGTERM")
        return 0


def test_sigterm_ends_a_wait_for_queue_room():
    stop = producer._Stop()
    stats = producer.Stats()
    producer.Sender(_FullQueue(stop), _serializer("full"), "t", stats, registry_wait=1).send_all(generate(5, 2, seed=1), stop)
    assert stats.queued == 0  # the record that found no room was never queued


def test_an_interrupt_does_not_hide_earlier_delivery_failures(monkeypatch, capsys):
    def run(args, stop, stats):
        stop.requested = True  # SIGINT after two deliveries had failed
        stats.queued, stats.delivered, stats.failed = 5, 3, 2
        return stats

    monkeypatch.setattr(producer, "run", run)
    assert producer.main(producer.parse_args(BASE)) == producer.EXIT_FAILED


def test_the_synthetic_seed_is_fresh_per_run_and_kept_when_given():
    seeds = {producer.synthetic_seed(producer.parse_args(BASE)) for _ in range(5)}
    assert len(seeds) == 5
    assert producer.synthetic_seed(producer.parse_args(BASE + ["--seed", "7"])) == 7
    line = producer.summary("t", producer.Stats(queued=1, delivered=1, seed=123), 1.0)
    assert line.endswith(" seed=123")


def test_connection_settings_come_from_the_environment_and_flags_win(monkeypatch):
    monkeypatch.setenv("TXPIPE_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("TXPIPE_SCHEMA_REGISTRY", "http://registry:8081")
    monkeypatch.setenv("TXPIPE_TOPIC", "assignment")
    args = producer.parse_args(["-n", "5000"])
    assert (args.bootstrap_servers, args.schema_registry, args.topic, args.count) == (
        "broker:9092",
        "http://registry:8081",
        "assignment",
        5000,
    )
    args = producer.parse_args(["-t", "other", "-b", "b2:9092"])
    assert (args.bootstrap_servers, args.topic) == ("b2:9092", "other")


def test_a_stop_ends_a_read_of_an_idle_stdin(monkeypatch):
    # `tail -f ledger.csv | producer -i -`: SIGTERM must end the run though no byte comes.
    import io
    import os
    import threading
    import time

    from tests.unit.test_malformed_inputs import _Kafka, _serializer

    read_end, write_end = os.pipe()
    os.write(
        write_end,
        b"transaction_id,account_number,transaction_reference,transaction_datetime,amount\n"
        b"a,ACC-1,R,2026-01-01T00:00:00Z,1\nb,ACC-2,R,2026-01-01T00:00:00Z,2\n",
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(io.FileIO(read_end, "rb"))))
    args = producer.parse_args(BASE + ["-q", "-i", "-"])
    stats, stop, kafka = producer.Stats(), producer._Stop(), _Kafka()
    sender = producer.Sender(kafka, _serializer(), "t", stats, registry_wait=1)
    timer = threading.Timer(1.0, stop, args=(15, None))  # as the SIGTERM handler is called
    timer.start()
    started = time.monotonic()
    try:
        producer.send(args, stats, sender, stop, None, [])
        took = time.monotonic() - started
    finally:
        timer.cancel()
        os.close(write_end)  # the reading thread sees the end and finishes
        sender.feed.source.close()
    assert stats.queued == 2 and len(kafka.sent) == 2
    assert stop.name == "SIGTERM" and took < 10
    assert stats.last_line == 3
