"""The whole pipeline in one command: local stack, consumer, producer, checked totals.

    make demo            # or: python -m txpipe_tools.demo --help

Starts a local Kafka and schema registry (unless -b/-s point at running ones), starts
the Scala consumer, sends the transactions, shows each ``(account_number, total)``
line as the consumer logs it, then checks every account's last logged total and its
value in ``<topic>-totals`` against what the producer had acknowledged. The consumer
serves its live page and account totals over HTTP (--http-port) while it runs. Stops
everything it started unless --keep is given, which keeps the consumer and its page up
until Ctrl-C and the stack until `make stack-down`.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from txpipe_tools import local_stack, verify
from txpipe_tools.consumer_runner import ConsumerError, ConsumerProcess


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Demo options; the defaults are the brief's: 1000 transactions over 20 accounts."""
    p = argparse.ArgumentParser(prog="txpipe-demo", description=__doc__.split("\n\n")[0])
    p.add_argument("-b", "--bootstrap-servers", help="use this running Kafka instead of starting the local stack")
    p.add_argument("-s", "--schema-registry", help="use this running schema registry (with -b)")
    p.add_argument("-t", "--topic", help="topic (default: transactions-<random>, so reruns never mix)")
    p.add_argument("-n", "--count", type=int, default=1000, help="transactions to send (default 1000)")
    p.add_argument("-a", "--accounts", type=int, default=20, help="accounts (default 20)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--kafka-port", type=int, default=9092, help="local stack Kafka port (default 9092)")
    p.add_argument("--registry-port", type=int, default=8081, help="local stack registry port (default 8081)")
    p.add_argument("--timeout", type=float, default=180, help="seconds to wait for the final totals (default 180)")
    p.add_argument(
        "--security",
        choices=list(local_stack.SECURITY_MODES),
        default="plaintext",
        help="local stack security: plaintext (default), sasl_ssl (TLS + SCRAM users) or mtls (TLS client certificates); "
        "the apps get the stack's client properties files with --client-config",
    )
    p.add_argument(
        "--http-port",
        type=int,
        default=8080,
        help="the consumer's live page and HTTP API on 127.0.0.1 (default 8080, another free port if it is taken; 0: off)",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the consumer and its page up until Ctrl-C, and the local stack running afterwards",
    )
    p.add_argument("--quiet-lines", action="store_true", help="do not echo every consumer line")
    args = p.parse_args(argv)
    if bool(args.bootstrap_servers) != bool(args.schema_registry):
        p.error("-b and -s go together")
    if args.bootstrap_servers and args.security != "plaintext":
        p.error("--security secures the local stack the demo starts; it does not go with -b/-s")
    return args


def http_port(wanted: int) -> int:
    """``wanted`` if nothing listens on it on loopback, else a free port (0 stays 0: off)."""
    if wanted == 0:
        return 0
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", wanted))
            return wanted
        except OSError:
            pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _say(text: str) -> None:
    print(f"==> {text}", flush=True)


def main(args: argparse.Namespace) -> int:
    """Runs the demo; 0 when every total matches."""
    started_stack = False
    consumer = None
    topic = args.topic or f"transactions-{secrets.token_hex(3)}"
    group = f"totals-{topic}"
    producer_config: list[str] = []
    consumer_config: list[str] = []
    verify_config: dict[str, str] | None = None
    work = Path(tempfile.mkdtemp(prefix="txpipe-demo-"))
    try:
        if args.bootstrap_servers:
            bootstrap, registry = args.bootstrap_servers, args.schema_registry
        else:
            _say("starting the local Kafka broker and schema registry")
            stack = local_stack.up(
                kafka_port=args.kafka_port,
                registry_port=args.registry_port,
                security=args.security,
                topic=topic,
                group=group,
            )
            started_stack = True
            bootstrap, registry = stack.bootstrap_servers, stack.schema_registry_url
            if stack.security:
                files = stack.security["files"]
                producer_config = ["--client-config", files["producer"]]
                consumer_config = ["--client-config", files["consumer"]]
                verify_config = local_stack.read_properties(files["librdkafka"]["admin"])
                _say(f"security {args.security}: client properties files in {stack.security['dir']}")
        _say(f"Kafka {bootstrap}, schema registry {registry}, topic {topic}")

        _say("starting the consumer (Kafka Streams, exactly-once)")
        port = http_port(args.http_port)
        service = ["--http-port", str(port)] if port else []
        consumer = ConsumerProcess(
            bootstrap,
            registry,
            topic,
            group,
            extra_args=["--state-dir", str(work / "state"), *service, *consumer_config],
            log_dir=local_stack.log_dir(),
            echo=None if args.quiet_lines else (lambda line: print(f"consumer | {line}", flush=True)),
        ).start()
        if port:
            _say(f"live page: http://127.0.0.1:{port}/ (an account: curl -s http://127.0.0.1:{port}/accounts/ACC-0001)")

        _say(f"sending {args.count} transactions over {args.accounts} accounts")
        truth_path = work / "ground-truth.json"
        producer = subprocess.run(
            [
                sys.executable,
                "-m",
                "txpipe.producer",
                "-b",
                bootstrap,
                "-s",
                registry,
                "-t",
                topic,
                "-n",
                str(args.count),
                "-a",
                str(args.accounts),
                "--seed",
                str(args.seed),
                "--ground-truth",
                str(truth_path),
                *producer_config,
            ],
            check=False,
        )
        if producer.returncode != 0:
            _say(f"FAILED: the producer exited with {producer.returncode}")
            return 1
        truth = verify.load_ground_truth(truth_path)
        expected = truth["totals"]

        _say(f"waiting for the consumer to log all {len(expected)} accounts' final totals")
        consumer.wait_for_totals(expected, args.timeout)
        from_topic = {
            acc: t.total
            for acc, t in verify.read_totals_topic(
                bootstrap, f"{topic}-totals", expected, timeout=60, config=verify_config
            ).items()
        }
        problems = verify.compare(expected, from_topic)

        print()
        print(f"{'account':<12} {'transactions':>12} {'total':>14}  check")
        for account, total in expected.items():
            ok = consumer.last.get(account) == total and from_topic.get(account) == total
            print(f"{account:<12} {truth['counts'][account]:>12} {total:>14}  {'ok' if ok else 'MISMATCH'}")
        if problems:
            _say(f"FAILED: {topic}-totals differs from the ground truth: {problems[:5]}")
            return 1
        _say(
            f"OK: {truth['delivered']} transactions, {len(expected)} accounts; the consumer's log and "
            f"{topic}-totals both equal the producer's acknowledged totals exactly"
        )
        if args.keep and port:
            _say(f"the consumer keeps serving http://127.0.0.1:{port}/ (--keep); Ctrl-C stops it")
            try:
                while consumer.alive():
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return 0
    except (ConsumerError, local_stack.StackError, TimeoutError) as exc:
        _say(f"FAILED: {exc}")
        return 1
    finally:
        if consumer is not None:
            consumer.stop()
        if started_stack and not args.keep:
            _say("stopping the local stack")
            local_stack.down()
        elif started_stack:
            _say("the local stack keeps running (--keep); stop it with `make stack-down`")


def cli() -> None:
    """Console entry point."""
    sys.exit(main(parse_args()))


if __name__ == "__main__":
    cli()
