"""Sends the synthetic workload at a fixed rate through txpipe's own Sender, recording each send's wall time.

    python -m bench.latency_producer -b BOOTSTRAP -s REGISTRY -t TOPIC -n COUNT -a ACCOUNTS --seed S -r RATE --out FILE
                                     [--client-config FILE] [-X K=V]

FILE gets one float64 per transaction: time.time() just before it was serialized and queued.
Same producer settings as the CLI (txpipe.producer.producer_config), then a client config file (a secured
stack's producer.properties: its Kafka keys to the producer, its schema.registry.* keys to the registry
client), then any -X.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from array import array
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

from txpipe import client_config, generator
from txpipe.producer import Sender, Stats, delivery_settings, producer_config
from txpipe.schema import Transaction


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    for flag in ("-b", "-s", "-t", "--out"):
        ap.add_argument(flag, required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("-a", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("-r", type=float, required=True)
    ap.add_argument(
        "-X",
        dest="extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a librdkafka setting over the CLI's (repeatable), e.g. -X linger.ms=0",
    )
    ap.add_argument("--client-config", type=Path, help="librdkafka keys and schema.registry.* keys (a secured stack's file)")
    args = ap.parse_args(argv)
    settings = client_config.load(args.client_config, args.extra)
    conf = producer_config(argparse.Namespace(bootstrap_servers=args.b, extra=args.extra, client=settings))
    stats = Stats()
    producer = Producer({**conf, **delivery_settings(stats)})
    registry = SchemaRegistryClient.new_client({"url": args.s, "timeout": 10, **settings.registry})
    serializer = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    sender = Sender(producer, serializer, args.t, stats, registry_wait=30)
    txs = list(generator.generate(args.n, args.a, args.seed))
    sender.prepare(txs[0])  # registers the schema before the clock starts
    sends = array("d", bytes(8 * len(txs)))
    clock = time.time
    # A collection between taking a send's time and queuing it would count as pipeline latency; the
    # loop makes no reference cycles, and the process ends right after it.
    gc.disable()
    started = time.monotonic()
    for i, tx in enumerate(txs):
        wait = started + i / args.r - time.monotonic()
        if wait > 0:
            producer.poll(wait)
        sends[i] = clock()
        sender.send(tx)
    stats.settle(producer.flush(60), "not delivered within 60s")
    with open(args.out, "wb") as f:
        sends.tofile(f)
    print(f"sent={stats.queued} delivered={stats.delivered} failed={stats.failed}")
    return 0 if stats.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
