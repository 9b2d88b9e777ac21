"""Sends transaction events to Kafka, protobuf-framed for the schema registry.

Examples:
    python -m txpipe.producer -b 127.0.0.1:9092 -s http://127.0.0.1:8081/apis/ccompat/v7 -t transactions
    python -m txpipe.producer -b broker:9092 -s http://schema-registry:8081 -t assignment -i input.csv
    zcat ledger.csv.gz | python -m txpipe.producer -b ... -s ... -t ... -i - --rejects rejected.csv

-b, -s and -t may come from TXPIPE_BOOTSTRAP_SERVERS, TXPIPE_SCHEMA_REGISTRY and TXPIPE_TOPIC
instead, --client-config from TXPIPE_CLIENT_CONFIG; a flag wins over its variable. The client
config (security settings, secrets) applies to every client: producer, admin and registry.

Exit codes: 0 everything delivered; 1 a delivery failed, the input could not be read to its
end, or Kafka/the registry could not be used; 2 bad arguments or configuration; 3 input rows
were rejected (every valid row was delivered); 130 interrupted (what was queued was flushed
first; a delivery failure still exits 1).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import cast

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicCollection
from confluent_kafka.admin import AclOperation, AdminClient, ClusterMetadata, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from txpipe import client_config, generator, input_file
from txpipe.failures import ErrorWatch, authorization, registry_refusal
from txpipe.metrics import STATS_INTERVAL_MS, ProducerMetrics, summary_fields
from txpipe.metrics import serve as serve_metrics_at
from txpipe.progress import Progress
from txpipe.rejects import RejectsFile
from txpipe.schema import Transaction
from txpipe.seen_ids import SeenIds
from txpipe.totals import RunningTotals, amount_decimal, format_total

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130

REGISTRY_REQUEST_TIMEOUT_S = 10
# Rejections printed one by one; past this many they are counted (and kept by --rejects).
PRINTED_REJECTIONS = 100
# The variables -b, -s and -t fall back on (compose's `run --rm producer -n 5000` replaces every flag).
ENVIRONMENT = {
    "bootstrap_servers": "TXPIPE_BOOTSTRAP_SERVERS",
    "schema_registry": "TXPIPE_SCHEMA_REGISTRY",
    "topic": "TXPIPE_TOPIC",
}
CLIENT_CONFIG_ENV = "TXPIPE_CLIENT_CONFIG"
# How long set-up waits for the cluster's metadata before it says why there is none.
METADATA_TIMEOUT_S = 15.0


class ProducerError(Exception):
    """A failure that ends the run with a clear message (Kafka or registry unusable)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with the brief's flags (-b -s -t -i) first."""
    p = argparse.ArgumentParser(
        prog="txpipe-producer",
        description="Send transaction events (protobuf, schema-registry framed) to a Kafka topic, keyed by account.",
        epilog="Exit codes: 0 all delivered, 1 delivery/connection failure, 2 usage, 3 input rows rejected, 130 interrupted.",
    )
    env = os.environ.get
    p.add_argument(
        "-b",
        "--bootstrap-servers",
        default=env(ENVIRONMENT["bootstrap_servers"]),
        help="Kafka bootstrap servers, e.g. 127.0.0.1:9092 (default: $TXPIPE_BOOTSTRAP_SERVERS)",
    )
    p.add_argument(
        "-s",
        "--schema-registry",
        default=env(ENVIRONMENT["schema_registry"]),
        help="schema registry base URL (default: $TXPIPE_SCHEMA_REGISTRY)",
    )
    p.add_argument(
        "-t", "--topic", default=env(ENVIRONMENT["topic"]), help="topic to send to, created when missing (default: $TXPIPE_TOPIC)"
    )
    p.add_argument(
        "-i",
        "--input",
        help="CSV or JSON Lines file of transactions, .gz too, or - for standard input; without it, synthetic ones are generated",
    )
    p.add_argument(
        "--format",
        "--input-format",
        dest="input_format",
        choices=input_file.FORMATS,
        help="format of --input (default: from its name, else from its first line)",
    )
    p.add_argument(
        "--rejects",
        type=Path,
        metavar="FILE",
        help="write each rejected row as read, with its line and reason, to FILE: fix them there and send FILE with -i",
    )
    p.add_argument("-n", "--count", type=int, default=1000, help="synthetic transactions to send (default 1000)")
    p.add_argument("-a", "--accounts", type=int, default=20, help="synthetic accounts (default 20)")
    p.add_argument(
        "--seed", type=int, help="random seed of the synthetic data (default: a fresh one each run, printed in the summary)"
    )
    p.add_argument("-r", "--rate", type=float, default=0, help="at most this many transactions per second (default 0: unlimited)")
    p.add_argument("-p", "--partitions", type=int, default=6, help="partitions if the topic is created (default 6)")
    p.add_argument(
        "--replication-factor",
        type=int,
        default=-1,
        help="replication factor if the topic is created (default -1: the broker's default.replication.factor)",
    )
    p.add_argument(
        "--ground-truth", type=Path, help="write the acknowledged transactions and exact per-account totals to this JSON file"
    )
    p.add_argument(
        "--flush-timeout", type=float, default=60, help="seconds to wait for outstanding deliveries on exit (default 60)"
    )
    p.add_argument(
        "--registry-wait", type=float, default=60, help="seconds to keep retrying an unreachable schema registry (default 60)"
    )
    p.add_argument(
        "--client-config",
        type=Path,
        metavar="FILE",
        default=env(CLIENT_CONFIG_ENV) or None,
        help="librdkafka properties file for every client (security.protocol, sasl.*, ssl.*; schema.registry.* keys "
        f"go to the registry client): the place for secrets, never argv (default: ${CLIENT_CONFIG_ENV})",
    )
    p.add_argument(
        "-X",
        dest="extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra librdkafka setting, over --client-config (repeatable; schema.registry.* keys go to the registry)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics (outcomes per transaction, librdkafka's statistics) at http://HOST:PORT/metrics "
        "while the run lasts (default: off)",
    )
    p.add_argument("--metrics-host", default="127.0.0.1", help="address --metrics-port listens on (default 127.0.0.1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    for name, var in ENVIRONMENT.items():
        if not getattr(args, name):
            p.error(f"--{name.replace('_', '-')} is required (or set {var})")
    if args.count < 0:
        p.error("--count must be >= 0")
    if args.accounts < 1:
        p.error("--accounts must be >= 1")
    if args.rate < 0:
        p.error("--rate must be >= 0")
    if args.partitions < 1:
        p.error("--partitions must be >= 1")
    if args.metrics_port is not None and not 1 <= args.metrics_port <= 65535:
        p.error("--metrics-port must be a port number, 1-65535")
    if args.replication_factor < 1 and args.replication_factor != -1:
        p.error("--replication-factor must be >= 1, or -1 for the broker's default")
    for item in args.extra:
        if "=" not in item:
            p.error(f"-X expects KEY=VALUE, got {item!r}")
    try:
        args.client = client_config.load(Path(args.client_config) if args.client_config else None, args.extra)
    except client_config.ClientConfigError as exc:
        p.error(str(exc))
    if args.input not in (None, input_file.STDIN) and not Path(args.input).is_file():
        p.error(f"--input {args.input}: no such file")
    if args.input == input_file.STDIN and sys.stdin is None:
        p.error("--input -: there is no standard input")
    if args.rejects is not None and args.input is None:
        p.error("--rejects needs an --input: synthetic transactions are never rejected")
    if args.rejects is not None and args.input != input_file.STDIN and args.rejects.resolve() == Path(args.input).resolve():
        p.error("--rejects must not be the --input file: it is emptied first")
    return args


def client_settings(args: argparse.Namespace) -> client_config.ClientSettings:
    """The client config and -X settings of the run (parse_args loads them)."""
    settings = getattr(args, "client", None)
    return settings if settings is not None else client_config.load(None, args.extra)


def producer_config(args: argparse.Namespace) -> dict[str, str | int | bool]:
    """The librdkafka settings: no loss, no duplicates within a session, JVM-compatible partitioning;
    the client config's and -X's keys over them, -b over everything."""
    conf: dict[str, str | int | bool] = {
        "client.id": "txpipe-producer",
        "acks": "all",
        "enable.idempotence": True,
        # murmur2 is what the Java client uses, so a JVM producer sends an account to the same partition.
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        "compression.type": "lz4",
    }
    conf.update(client_settings(args).kafka)
    conf["bootstrap.servers"] = args.bootstrap_servers
    return conf


def admin_config(args: argparse.Namespace) -> dict[str, str | int | bool]:
    """The admin client's settings: the same connection and security settings as the producer's."""
    return {"client.id": "txpipe-producer-admin", **client_settings(args).kafka, "bootstrap.servers": args.bootstrap_servers}


def registry_config(args: argparse.Namespace) -> dict[str, str | int | float]:
    """The registry client's settings: the URL, a bounded request, then the client config's registry keys."""
    # The client waits forever by default; a bounded request lets the retry loop report a stuck registry.
    return {"url": args.schema_registry, "timeout": REGISTRY_REQUEST_TIMEOUT_S, **client_settings(args).registry}


def cluster_metadata(admin: AdminClient, watch: ErrorWatch, timeout: float | None = None) -> ClusterMetadata:
    """The cluster's metadata, asked for in short slices so a refused login or TLS handshake ends set-up at once."""
    timeout = timeout if timeout is not None else METADATA_TIMEOUT_S
    deadline = time.monotonic() + timeout
    while True:
        try:
            return admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException as exc:
            admin.poll(0)  # serves error_cb
            refusal = watch.refusal()
            if refusal:
                raise ProducerError(refusal) from None
            if time.monotonic() >= deadline:
                raise ProducerError(watch.explain(f"cannot reach Kafka within {timeout:.0f}s", exc.args[0])) from None


def ensure_topic(
    admin: AdminClient,
    topic: str,
    partitions: int,
    replication_factor: int,
    timeout: float | None = None,
    watch: ErrorWatch | None = None,
) -> bool:
    """Creates the topic when missing; returns True if this call created it."""
    timeout = timeout if timeout is not None else METADATA_TIMEOUT_S
    watch = watch if watch is not None else ErrorWatch()
    metadata = cluster_metadata(admin, watch, timeout)
    if topic in metadata.topics and metadata.topics[topic].error is None:
        return False
    future = admin.create_topics([NewTopic(topic, partitions, replication_factor)], operation_timeout=timeout)[topic]
    try:
        future.result(timeout=timeout)
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        line = authorization(exc.args[0], "CREATE", f"topic {topic!r}")
        raise ProducerError(line or f"cannot create topic {topic!r}: {exc.args[0].str()}") from None
    return True


def check_write_access(admin: AdminClient, topic: str, timeout: float | None = None) -> None:
    """Refuses the run before the first record when the cluster says the user may not write ``topic``."""
    timeout = timeout if timeout is not None else METADATA_TIMEOUT_S
    futures = admin.describe_topics(TopicCollection([topic]), request_timeout=timeout, include_authorized_operations=True)
    try:
        description = futures[topic].result(timeout=timeout)
    except KafkaException as exc:
        line = authorization(exc.args[0], "DESCRIBE", f"topic {topic!r}")
        if line:
            raise ProducerError(line) from None
        return  # anything else shows again, with its cause, when the producer asks for the topic
    operations = description.authorized_operations
    # None: the broker did not say (authorization off, or an old broker); the deliveries will tell.
    if operations and AclOperation.WRITE not in operations and AclOperation.ALL not in operations:
        raise ProducerError(
            f"not authorized to WRITE topic {topic!r} (the user may only "
            f"{', '.join(sorted(op.name for op in operations))}): grant the producer's user WRITE on it"
        )


# A delivery callback: librdkafka's outcome of one record (an error, or None) and the record.
DeliveryReport = Callable[[KafkaError | None, Message], None]


@dataclass
class Stats:
    """What happened to each transaction handed to the producer."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0
    rejected: int = 0
    first_error: str | None = None
    seed: int | None = None  # of a synthetic run
    header_error: str | None = None  # the input's header was unusable: every row was rejected
    unreadable: str | None = None  # the input could not be read to its end
    stopped: str | None = None  # the signal that stopped the run
    last_line: int = 0  # of an input: every row up to this line was sent or rejected
    truth: RunningTotals | None = None
    acked: list[dict[str, object]] = field(default_factory=list)

    @property
    def reports_successes(self) -> bool:
        """Whether each acknowledged record is reported: only when a ground truth records it."""
        return self.truth is not None

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
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

    def failed_one(self, reason: str, what: object) -> None:
        """Counts one undelivered transaction and keeps the first reason."""
        self.failed += 1
        if self.first_error is None:
            self.first_error = f"{what!r}: {reason}"


def delivery_settings(stats: Stats) -> dict[str, object]:
    """Producer settings that route delivery reports to ``stats``.

    Without a ground truth to keep, librdkafka reports only failures: a success callback per record
    costs time on every send (docs/bench/findings.md). Every record still ends in exactly one of
    three ways (acknowledged, reported failed, or still queued when flush() gives up), so after the
    flush Stats.settle counts the acknowledged ones as the rest.
    """
    return {"on_delivery": stats.on_delivery, "delivery.report.only.error": not stats.reports_successes}


class _Stop:
    """Set by SIGINT/SIGTERM so the send loop ends and what was queued is flushed.

    A second signal while the final flush waits ends that wait too.
    """

    requested = False
    signals = 0
    name: str | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        self.signals += 1
        self.name = self.name or signal.Signals(signum).name


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
        # Called with the reason when produce() refuses a record outright; None: that ends the run.
        self.unsendable: Callable[[str], None] | None = None
        self.feed: InputFeed | None = None  # the input's rows, when sending an input

    def _report_with_truth(self, tx: Transaction) -> DeliveryReport:
        stats = self.stats
        truth = stats.truth
        assert truth is not None

        def report(err: KafkaError | None, msg: Message) -> None:
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

    def _first_value(self, tx: Transaction, stop: _Stop = _NEVER) -> bytes:
        """Serializes through the registry, retrying an unreachable one up to registry_wait seconds."""
        deadline = time.monotonic() + self.registry_wait
        delay = 0.5
        while True:
            try:
                value = self.serializer(tx, self.ctx)
                break
            except Exception as exc:  # the serializer wraps HTTP errors in several types
                subject = f"{self.ctx.topic}-value"
                refusal = registry_refusal(exc, subject)
                if refusal:  # credentials, permission, TLS trust: waiting cures none of them
                    raise ProducerError(refusal) from None
                reason = client_config.redact(str(exc))
                if time.monotonic() + delay > deadline:
                    raise ProducerError(f"schema registry unusable for {subject}: {reason}") from None
                print(f"schema registry not answering ({reason}); retrying in {delay:.1f}s", file=sys.stderr)
                until = time.monotonic() + delay
                while not stop.requested and time.monotonic() < until:
                    time.sleep(0.05)
                if stop.requested:
                    raise Stopped("stopped while waiting for the schema registry") from None
                delay = min(delay * 2, 5.0)
        payload = tx.SerializeToString()
        if value is None or not value.endswith(payload):
            raise ProducerError("the registry serializer's output does not end with the message bytes; cannot reuse its header")
        self.header = value[: len(value) - len(payload)]
        return value

    def prepare(self, tx: Transaction, stop: _Stop = _NEVER) -> None:
        """Registers or looks up the schema and keeps the header, without sending anything."""
        if self.header is None:
            self._first_value(tx, stop)

    def send(self, tx: Transaction) -> None:
        """Queues one transaction, waiting for queue space rather than dropping it."""
        self.send_all((tx,))

    def send_all(
        self, txs: Iterable[Transaction], stop: _Stop | None = None, rate: float = 0, progress: Progress | None = None
    ) -> None:
        """Queues each transaction in turn until ``stop`` is requested, at most ``rate`` a second if set.

        This loop is the producer's hot path, so everything it looks up is bound to a local first
        (a send() call per record, with its attribute lookups, was slower: docs/bench/findings.md).
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
                        # The producer's own on_delivery reports it (delivery_settings); on_delivery=None costs keyword parsing.
                        report = None
                        produce(topic, value, key)
                except BufferError:  # local queue full: let deliveries drain, then retry
                    if not self._produce_when_room(value, key, report, stop):
                        break  # stopped while waiting: this one was never queued
                except KafkaException as exc:  # this record can never be sent (too large, say)
                    if self.unsendable is None:
                        raise
                    self.unsendable(exc.args[0].str())
                    continue
                queued += 1
                if queued % poll_every == 0:  # serve delivery reports; produce() never blocks on them
                    self.stats.queued = queued  # what the metrics endpoint reads meanwhile
                    poll(0)
                    if progress is not None:
                        progress.update(queued)
        finally:
            self.stats.queued = queued

    def _produce_when_room(self, value: bytes, key: bytes, report: DeliveryReport | None, stop: _Stop) -> bool:
        """Retries until the record is queued (True) or a stop is requested (False): a broker
        that never answers never makes room."""
        while not stop.requested:
            self.producer.poll(0.05)
            try:
                if report is None:
                    self.producer.produce(self.topic, value, key)
                else:
                    self.producer.produce(self.topic, value, key, on_delivery=report)
                return True
            except BufferError:
                continue
        return False


class Stopped(Exception):
    """A stop was requested before sending began (while the registry was being waited for)."""


class InputFeed:
    """The input's valid rows as transactions for the send loop.

    Each rejection is counted, printed (the first PRINTED_REJECTIONS) and written to the rejects
    file as it comes, so sent + rejected always accounts for every row read, also in a stopped run.
    """

    def __init__(self, source: input_file.Input, stats: Stats, rejects: RejectsFile | None):
        self.source, self.stats, self.rejects = source, stats, rejects
        self.current: input_file.InputRow | None = None
        self.printed = 0

    def __iter__(self) -> Iterator[Transaction]:
        stats = self.stats
        try:
            for item in self.source.rows():
                if type(item) is input_file.InputRow:
                    self.current = item
                    yield item.transaction
                    # Asked for the next: the send loop is done with this row.
                    stats.last_line = item.line
                else:
                    self.reject(cast(input_file.InputError, item))  # the rows are InputRow or InputError
            stats.last_line = self.source.lines.line_no
        except input_file.InputStopped:
            return
        except input_file.InputUnreadable as exc:
            stats.unreadable = f"{self.source.name}: cannot be read after line {self.source.lines.line_no}: {exc}"

    def reject(self, error: input_file.InputError) -> None:
        stats = self.stats
        if isinstance(error, input_file.HeaderError):
            stats.header_error = str(error)
            print(f"error: {error}; every row is rejected", file=sys.stderr)
            return
        stats.rejected += 1
        stats.last_line = error.line
        if self.rejects is not None:
            self.rejects.write(error, self.source.header_raw)
        if stats.header_error is None:
            self.printed += 1
            if self.printed <= PRINTED_REJECTIONS:
                print(f"rejected {error}", file=sys.stderr)

    def unsendable(self, reason: str) -> None:
        """The row being sent was refused by produce(): it is rejected like a bad row."""
        row = self.current
        assert row is not None
        self.reject(input_file.InputError(self.source.name, row.line, None, f"cannot be sent: {reason}", row.raw))
        self.stats.last_line = row.line

    def finish(self) -> None:
        unprinted = self.printed - PRINTED_REJECTIONS
        if unprinted > 0:
            where = f"; {self.rejects.path} has them all" if self.rejects is not None else "; --rejects FILE keeps them all"
            print(f"... and {unprinted} more rejected rows, not printed{where}", file=sys.stderr)
        if self.rejects is not None:
            self.rejects.close(self.source.header_raw)


def synthetic_seed(args: argparse.Namespace) -> int:
    """--seed, or a fresh seed: a rerun must not regenerate ids the consumer has already counted."""
    return args.seed if args.seed is not None else secrets.randbits(63)


def flush(producer: Producer, timeout: float, stop: _Stop) -> int:
    """Waits up to ``timeout`` for outstanding deliveries, or until one more signal; returns those left."""
    deadline = time.monotonic() + timeout
    signals = stop.signals
    while True:
        remaining = producer.flush(max(0.0, min(0.5, deadline - time.monotonic())))
        if remaining == 0 or time.monotonic() >= deadline or stop.signals > signals:
            return remaining


def run(args: argparse.Namespace, stop: _Stop, stats: Stats | None = None) -> Stats:
    """Sends everything and waits for every delivery report; prints the summary line once sending began."""
    stats = stats if stats is not None else Stats(truth=RunningTotals() if args.ground_truth else None)
    watch = ErrorWatch()
    metrics = ProducerMetrics(stats, lambda: len(producer)) if args.metrics_port else None
    observed = {"statistics.interval.ms": STATS_INTERVAL_MS, "stats_cb": metrics.on_stats} if metrics else {}
    try:
        producer = Producer({**producer_config(args), **delivery_settings(stats), **observed, "error_cb": watch})
        # The admin client's type hints leave out callbacks, which it takes like every client.
        admin = AdminClient(cast(dict[str, str | int | float | bool], {**admin_config(args), "error_cb": watch}))
    except KafkaException as exc:
        raise ValueError(f"bad producer configuration: {exc.args[0].str()}") from None
    stop_metrics = serve_metrics(metrics, args) if metrics else None
    if ensure_topic(admin, args.topic, args.partitions, args.replication_factor, watch=watch):
        print(f"created topic {args.topic!r} ({args.partitions} partitions)", file=sys.stderr)
    check_write_access(admin, args.topic)
    # The producer learns the topic's partitions now, in set-up, rather than holding the first records back while it asks.
    try:
        producer.list_topics(args.topic, timeout=METADATA_TIMEOUT_S)
    except KafkaException as exc:
        producer.poll(0)
        line = authorization(exc.args[0], "DESCRIBE", f"topic {args.topic!r}")
        raise ProducerError(line or watch.explain(f"cannot read the metadata of topic {args.topic!r}", exc.args[0])) from None
    registry = SchemaRegistryClient.new_client(registry_config(args))
    serializer = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    sender = Sender(producer, serializer, args.topic, stats, args.registry_wait)
    started = time.monotonic()
    progress = Progress(None if args.input else args.count, enabled=not args.quiet and sys.stderr.isatty())
    began: list[float] = []
    try:
        send(args, stats, sender, stop, progress, began)
    finally:
        feed = sender.feed
        remaining = flush(producer, args.flush_timeout, stop)
        progress.close(stats.queued)
        stats.settle(remaining, f"not delivered within --flush-timeout {args.flush_timeout}s")
        if feed is not None:
            feed.finish()
            feed.source.close()
        if stop.requested:
            stats.stopped = stop.name or "stop"
        elapsed = time.monotonic() - (began[0] if began else started)
        print(summary(args.topic, stats, elapsed) + (summary_fields(metrics.latest()) if metrics else ""))
        if stop_metrics:
            stop_metrics()
    return stats


def serve_metrics(metrics: ProducerMetrics, args: argparse.Namespace) -> Callable[[], None]:
    """Starts the metrics endpoint of --metrics-port; a port in use is a usage error."""
    try:
        stop = serve_metrics_at(metrics, args.metrics_port, args.metrics_host)
    except OSError as exc:
        raise ValueError(f"--metrics-port {args.metrics_port}: cannot listen on {args.metrics_host}: {exc.strerror}") from None
    print(f"metrics at http://{args.metrics_host}:{args.metrics_port}/metrics", file=sys.stderr)
    return stop


def send(
    args: argparse.Namespace, stats: Stats, sender: Sender, stop: _Stop, progress: Progress | None, started: list[float]
) -> None:
    """Queues every transaction of the run (the input's valid rows, or synthetic ones) until done or stopped;
    appends to ``started`` when the sending itself began. Flushing is the caller's."""
    try:
        if args.input is None:
            stats.seed = synthetic_seed(args)
            # A ground truth's delivery reports keep each transaction, so each must be its own object.
            txs: Iterator[Transaction] = generator.generate(
                args.count, args.accounts, stats.seed, reuse=not stats.reports_successes
            )
        else:
            try:
                source = input_file.Input(args.input, args.input_format, stop=stop, seen=SeenIds())
            except input_file.InputUnreadable as exc:
                stats.unreadable = f"{input_file.display_name(args.input)}: cannot be read: {exc}"
                return
            rejects = RejectsFile(args.rejects, source.format) if args.rejects else None
            sender.feed = InputFeed(source, stats, rejects)
            sender.unsendable = sender.feed.unsendable
            txs = iter(sender.feed)
        first = next(txs, None)
        if first is not None:
            # The registry round trip is set-up, like the topic: the summary's rate is the sending alone.
            sender.prepare(first, stop)
            txs = itertools.chain((first,), txs)
    except (input_file.InputStopped, Stopped):
        return
    # Everything allocated so far lives for the whole run: keep the collector from rescanning it,
    # and let it run less often (a send creates short-lived objects without reference cycles).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    started.append(time.monotonic())
    sender.send_all(txs, stop, args.rate, progress if progress is not None and progress.enabled else None)


def summary(topic: str, stats: Stats, elapsed: float) -> str:
    """One line: what was sent, what failed, how fast; the seed of a synthetic run; where a stopped run got to."""
    rate = stats.delivered / elapsed if elapsed > 0 else 0.0
    line = (
        f"topic={topic} sent={stats.queued} delivered={stats.delivered} failed={stats.failed} "
        f"rejected={stats.rejected} elapsed={elapsed:.3f}s rate={rate:,.0f} tx/s"
    )
    if stats.seed is not None:
        line += f" seed={stats.seed}"
    if stats.stopped:
        line += f" stopped={stats.stopped}"
        if stats.seed is None:
            line += f" input_done_to_line={stats.last_line}"
    if stats.unreadable:
        line += f" unreadable={stats.unreadable!r}"
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
    stats = Stats(truth=RunningTotals() if args.ground_truth else None)
    try:
        run(args, stop, stats)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ProducerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if args.ground_truth:
            write_ground_truth(args.ground_truth, args.topic, stats)
    if stats.unreadable:
        print(f"error: {stats.unreadable}", file=sys.stderr)
    return exit_code(stats, stop.requested)


def exit_code(stats: Stats, stopped: bool) -> int:
    """Failures first: an interrupt or rejections never hide a record that was not delivered."""
    if stats.failed or stats.unreadable:
        return EXIT_FAILED
    if stopped:
        return EXIT_INTERRUPTED
    if stats.rejected or stats.header_error:
        return EXIT_PARTIAL
    return EXIT_OK


def cli(argv: Iterable[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(main(parse_args(list(argv) if argv is not None else None)))


if __name__ == "__main__":
    cli()
