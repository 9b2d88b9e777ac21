"""Sends transaction events to Kafka, protobuf-framed for the schema registry.

Examples:
    python -m txpipe.producer -b 127.0.0.1:9092 -s http://127.0.0.1:8081/apis/ccompat/v7 -t transactions
    python -m txpipe.producer -b broker:9092 -s http://schema-registry:8081 -t assignment -i input.csv

Exit codes: 0 everything delivered; 1 a delivery failed or Kafka/the registry could
not be used; 2 bad arguments or configuration; 3 the input file had rejected rows
(every valid row was delivered); 130 interrupted (what was queued was flushed first).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from txpipe import generator, input_file
from txpipe.progress import Progress
from txpipe.schema import Transaction
from txpipe.totals import RunningTotals, amount_decimal, format_total

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130

REGISTRY_REQUEST_TIMEOUT_S = 10


class ProducerError(Exception):
    """A failure that ends the run with a clear message (Kafka or registry unusable)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with the brief's flags (-b -s -t -i) first."""
    p = argparse.ArgumentParser(
        prog="txpipe-producer",
        description="Send transaction events (protobuf, schema-registry framed) to a Kafka topic, keyed by account.",
        epilog="Exit codes: 0 all delivered, 1 delivery/connection failure, 2 usage, 3 input rows rejected, 130 interrupted.",
    )
    p.add_argument("-b", "--bootstrap-servers", required=True, help="Kafka bootstrap servers, e.g. 127.0.0.1:9092")
    p.add_argument("-s", "--schema-registry", required=True, help="schema registry base URL")
    p.add_argument("-t", "--topic", required=True, help="topic to send to (created when missing)")
    p.add_argument("-i", "--input", type=Path, help="CSV or JSON Lines file of transactions; without it, synthetic ones are generated")
    p.add_argument("--input-format", choices=input_file.FORMATS, help="format of --input (default: from its suffix)")
    p.add_argument("-n", "--count", type=int, default=1000, help="synthetic transactions to send (default 1000)")
    p.add_argument("-a", "--accounts", type=int, default=20, help="synthetic accounts (default 20)")
    p.add_argument("--seed", type=int, default=42, help="random seed of the synthetic data (default 42)")
    p.add_argument("-r", "--rate", type=float, default=0, help="at most this many transactions per second (default 0: unlimited)")
    p.add_argument("-p", "--partitions", type=int, default=6, help="partitions if the topic is created (default 6)")
    p.add_argument("--replication-factor", type=int, default=-1,
                   help="replication factor if the topic is created (default -1: the broker's default.replication.factor)")
    p.add_argument("--ground-truth", type=Path, help="write the acknowledged transactions and exact per-account totals to this JSON file")
    p.add_argument("--flush-timeout", type=float, default=60, help="seconds to wait for outstanding deliveries on exit (default 60)")
    p.add_argument("--registry-wait", type=float, default=60, help="seconds to keep retrying an unreachable schema registry (default 60)")
    p.add_argument("-X", dest="extra", action="append", default=[], metavar="KEY=VALUE", help="extra librdkafka producer setting (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.count < 0:
        p.error("--count must be >= 0")
    if args.accounts < 1:
        p.error("--accounts must be >= 1")
    if args.rate < 0:
        p.error("--rate must be >= 0")
    if args.partitions < 1:
        p.error("--partitions must be >= 1")
    if args.replication_factor < 1 and args.replication_factor != -1:
        p.error("--replication-factor must be >= 1, or -1 for the broker's default")
    for item in args.extra:
        if "=" not in item:
            p.error(f"-X expects KEY=VALUE, got {item!r}")
    if args.input is not None and not args.input.is_file():
        p.error(f"--input {args.input}: no such file")
    return args


def producer_config(args: argparse.Namespace) -> dict[str, str | int | bool]:
    """The librdkafka settings: no loss, no duplicates within a session, JVM-compatible partitioning."""
    conf: dict[str, str | int | bool] = {
        "bootstrap.servers": args.bootstrap_servers,
        "client.id": "txpipe-producer",
        "acks": "all",
        "enable.idempotence": True,
        # murmur2 is what the Java client uses, so a JVM producer sends an account to the same partition.
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        "compression.type": "lz4",
    }
    for item in args.extra:
        key, _, value = item.partition("=")
        conf[key.strip()] = value.strip()
    return conf


def ensure_topic(admin: AdminClient, topic: str, partitions: int, replication_factor: int, timeout: float = 15) -> bool:
    """Creates the topic when missing; returns True if this call created it."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ProducerError(f"cannot reach Kafka: {exc.args[0]}") from None
    if topic in metadata.topics and metadata.topics[topic].error is None:
        return False
    future = admin.create_topics([NewTopic(topic, partitions, replication_factor)], operation_timeout=timeout)[topic]
    try:
        future.result(timeout=timeout)
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise ProducerError(f"cannot create topic {topic!r}: {exc.args[0].str()}") from None
    return True


@dataclass
class Stats:
    """What happened to each transaction handed to the producer."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0
    rejected: int = 0
    first_error: str | None = None
    truth: RunningTotals | None = None
    acked: list[dict[str, object]] = field(default_factory=list)

    @property
    def reports_successes(self) -> bool:
        """Whether each acknowledged record is reported: only when a ground truth records it."""
        return self.truth is not None

    def on_delivery(self, err, msg) -> None:
        """The producer's delivery callback: the one place a delivery outcome surfaces."""
        if err is not None:
            self.failed_one(err.str(), msg.key())
        else:
            self.delivered += 1

    def settle(self, undelivered: int, reason: str) -> None:
        """After the final flush: the records still queued failed; with reports of failures only, the rest arrived."""
        if undelivered:
            self.failed += undelivered
            self.first_error = self.first_error or f"{undelivered} {reason}"
        if not self.reports_successes:
            self.delivered = self.queued - self.failed

    def failed_one(self, reason: str, what) -> None:
        """Counts one undelivered transaction and keeps the first reason."""
        self.failed += 1
        if self.first_error is None:
            self.first_error = f"{what!r}: {reason}"


def delivery_settings(stats: Stats) -> dict[str, object]:
    """Producer settings that route delivery reports to ``stats``.

    Without a ground truth to keep, librdkafka reports only failures: a success callback per record
    cost about a tenth of the producer's time (a million sends took 4.4-4.6 s instead of 4.9-5.4 s). Every record still ends in exactly one of three ways
    (acknowledged, reported failed, or still queued when flush() gives up), so after the flush
    Stats.settle counts the acknowledged ones as the rest.
    """
    return {"on_delivery": stats.on_delivery, "delivery.report.only.error": not stats.reports_successes}


class _Stop:
    """Set by SIGINT/SIGTERM so the send loop ends and what was queued is flushed."""

    requested = False

    def __call__(self, signum, frame) -> None:
        self.requested = True


_NEVER = _Stop()  # for sends that run until their transactions do


class Sender:
    """Serializes and sends transactions to one topic; their delivery reports go to its Stats.

    The first transaction goes through confluent-kafka's serializer, which registers or
    looks up the schema and writes the Confluent header. Every value after that is the
    same header plus the message's bytes, so the hot path skips the serializer's
    per-message subject lookup (the golden-vector tests pin those bytes) and no longer
    needs the registry once the run has started.
    """

    POLL_EVERY = 500

    def __init__(self, producer: Producer, serializer: ProtobufSerializer, topic: str, stats: Stats, registry_wait: float):
        self.producer = producer
        self.serializer = serializer
        self.topic = topic
        self.stats = stats
        self.registry_wait = registry_wait
        self.ctx = SerializationContext(topic, MessageField.VALUE)
        self.header: bytes | None = None

    def _report_with_truth(self, tx: Transaction):
        stats = self.stats
        truth = stats.truth
        assert truth is not None

        def report(err, msg) -> None:
            # As Stats.on_delivery, and remember each acked record in delivery order: per partition that is send order.
            if err is not None:
                stats.failed_one(err.str(), tx.transaction_id)
                return
            stats.delivered += 1
            total = truth.add(tx.account_number, tx.amount)
            stats.acked.append(
                {
                    "transaction_id": tx.transaction_id,
                    "account_number": tx.account_number,
                    "amount": str(amount_decimal(tx.amount)),
                    "total": format_total(total),
                    "partition": msg.partition(),
                    "offset": msg.offset(),
                }
            )

        return report

    def _first_value(self, tx: Transaction) -> bytes:
        """Serializes through the registry, retrying an unreachable one up to registry_wait seconds."""
        deadline = time.monotonic() + self.registry_wait
        delay = 0.5
        while True:
            try:
                value = self.serializer(tx, self.ctx)
                break
            except Exception as exc:  # the serializer wraps HTTP errors in several types
                if time.monotonic() + delay > deadline:
                    raise ProducerError(f"schema registry unusable for {self.ctx.topic}-value: {exc}") from None
                print(f"schema registry not answering ({exc}); retrying in {delay:.1f}s", file=sys.stderr)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        payload = tx.SerializeToString()
        if not value.endswith(payload):
            raise ProducerError("the registry serializer's output does not end with the message bytes; cannot reuse its header")
        self.header = value[: len(value) - len(payload)]
        return value

    def prepare(self, tx: Transaction) -> None:
        """Registers or looks up the schema and keeps the header, without sending anything."""
        if self.header is None:
            self._first_value(tx)

    def send(self, tx: Transaction) -> None:
        """Queues one transaction, waiting for queue space rather than dropping it."""
        self.send_all((tx,))

    def send_all(self, txs: Iterable[Transaction], stop: _Stop | None = None, rate: float = 0,
                 progress: Progress | None = None) -> None:
        """Queues each transaction in turn until ``stop`` is requested, at most ``rate`` a second if set.

        This loop is the producer's hot path, so everything it looks up is bound to a local first
        (a send() call per record, with its attribute lookups, cost about 3% more).
        """
        stop = stop or _NEVER
        produce, poll, topic, header = self.producer.produce, self.producer.poll, self.topic, self.header
        poll_every = self.POLL_EVERY
        with_truth = self.stats.reports_successes
        queued = first = self.stats.queued
        started = time.monotonic()
        try:
            for tx in txs:
                if stop.requested:
                    break
                if rate:
                    wait = started + (queued - first) / rate - time.monotonic()
                    if wait > 0:
                        poll(wait)
                    if progress is not None:
                        progress.update(queued)
                if header is None:
                    value = self._first_value(tx)
                    header = self.header
                else:
                    value = header + tx.SerializeToString()
                key = tx.account_number.encode("utf-8")
                try:
                    if with_truth:
                        report = self._report_with_truth(tx)
                        produce(topic, value, key, on_delivery=report)
                    else:
                        # The producer's own on_delivery reports it (delivery_settings). Passing
                        # on_delivery=None instead cost about 7% of the loop in keyword parsing.
                        report = None
                        produce(topic, value, key)
                except BufferError:  # local queue full: let deliveries drain, then retry
                    self._produce_when_room(value, key, report)
                queued += 1
                if queued % poll_every == 0:  # serve delivery reports; produce() never blocks on them
                    poll(0)
                    if progress is not None:
                        progress.update(queued)
        finally:
            self.stats.queued = queued

    def _produce_when_room(self, value: bytes, key: bytes, report) -> None:
        while True:
            self.producer.poll(0.05)
            try:
                self.producer.produce(self.topic, value, key, on_delivery=report)
                return
            except BufferError:
                continue


def transactions(args: argparse.Namespace, stats: Stats) -> Iterator[Transaction]:
    """The transactions to send: the input file's valid rows, or synthetic ones."""
    if args.input is None:
        # A ground truth's delivery reports keep each transaction, so each must be its own object.
        yield from generator.generate(args.count, args.accounts, args.seed, reuse=not stats.reports_successes)
        return
    for item in input_file.read(args.input, args.input_format):
        if isinstance(item, input_file.InputError):
            stats.rejected += 1
            print(f"rejected {item}", file=sys.stderr)
        else:
            yield item.transaction


def run(args: argparse.Namespace, stop: _Stop) -> Stats:
    """Sends everything and waits for every delivery report."""
    stats = Stats(truth=RunningTotals() if args.ground_truth else None)
    try:
        producer = Producer({**producer_config(args), **delivery_settings(stats)})
    except KafkaException as exc:
        raise ValueError(f"bad producer configuration: {exc.args[0].str()}") from None
    admin = AdminClient({"bootstrap.servers": args.bootstrap_servers})
    if ensure_topic(admin, args.topic, args.partitions, args.replication_factor):
        print(f"created topic {args.topic!r} ({args.partitions} partitions)", file=sys.stderr)
    # The producer learns the topic's partitions now, in set-up, rather than holding the first
    # records back while it asks (about 5-10 ms of a 10,000-record run).
    try:
        producer.list_topics(args.topic, timeout=15)
    except KafkaException as exc:
        raise ProducerError(f"cannot read the metadata of topic {args.topic!r}: {exc.args[0].str()}") from None
    # The client waits forever by default; a bounded request lets the retry loop below report a stuck registry.
    registry = SchemaRegistryClient.new_client({"url": args.schema_registry, "timeout": REGISTRY_REQUEST_TIMEOUT_S})
    serializer = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    sender = Sender(producer, serializer, args.topic, stats, args.registry_wait)
    total = None if args.input else args.count
    progress = Progress(total, enabled=not args.quiet and sys.stderr.isatty())
    # Everything allocated so far lives for the whole run: keep the collector from rescanning it,
    # and let it run less often (a send creates short-lived objects without reference cycles).
    txs = transactions(args, stats)
    first = next(txs, None)
    if first is not None:
        # The registry round trip is set-up, like the topic: the summary's rate is the sending alone.
        sender.prepare(first)
        txs = itertools.chain((first,), txs)
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    started = time.monotonic()
    try:
        sender.send_all(txs, stop, args.rate, progress if progress.enabled else None)
    finally:
        remaining = producer.flush(args.flush_timeout)
        progress.close(stats.queued)
        stats.settle(remaining, f"not delivered within --flush-timeout {args.flush_timeout}s")
    stats_elapsed = time.monotonic() - started
    print(summary(args.topic, stats, stats_elapsed))
    return stats


def summary(topic: str, stats: Stats, elapsed: float) -> str:
    """One line: what was sent, what failed, how fast."""
    rate = stats.delivered / elapsed if elapsed > 0 else 0.0
    line = (
        f"topic={topic} sent={stats.queued} delivered={stats.delivered} failed={stats.failed} "
        f"rejected={stats.rejected} elapsed={elapsed:.3f}s rate={rate:,.0f} tx/s"
    )
    if stats.first_error:
        line += f" first_error={stats.first_error!r}"
    return line


def write_ground_truth(path: Path, topic: str, stats: Stats) -> None:
    """The acknowledged records and exact totals, for tests that check the consumer."""
    assert stats.truth is not None
    doc = {
        "topic": topic,
        "delivered": stats.delivered,
        "totals": stats.truth.formatted(),
        "counts": dict(sorted(stats.truth.counts.items())),
        "records": stats.acked,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=None))
    tmp.replace(path)


def main(args: argparse.Namespace) -> int:
    """Runs the producer and maps the outcome to an exit code."""
    stop = _Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        stats = run(args, stop)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ProducerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.ground_truth:
        write_ground_truth(args.ground_truth, args.topic, stats)
    if stop.requested:
        return EXIT_INTERRUPTED
    if stats.failed:
        return EXIT_FAILED
    if stats.rejected:
        return EXIT_PARTIAL
    return EXIT_OK


def cli(argv: Iterable[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(main(parse_args(list(argv) if argv is not None else None)))


if __name__ == "__main__":
    cli()
