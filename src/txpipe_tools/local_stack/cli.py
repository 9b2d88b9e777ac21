"""``python3 -m txpipe_tools.local_stack install|up|down|status|...``: the local stack from a shell."""

from __future__ import annotations

import argparse
import sys
import time

from txpipe_tools.local_stack.acls import DEFAULT_GROUP, DEFAULT_TOPIC
from txpipe_tools.local_stack.base import STACK_DIR, StackError, log_dir
from txpipe_tools.local_stack.fetch import APICURIO_VERSION, KAFKA_VERSION, install
from txpipe_tools.local_stack.kraft import KAFKA_TIMEOUT_S, SUPPORTED_NODES
from txpipe_tools.local_stack.security import MODES
from txpipe_tools.local_stack.stack import (
    down,
    grant_pipeline,
    kill_node,
    start_node,
    start_registry,
    status,
    stop_registry,
    up,
)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python3 -m txpipe_tools.local_stack",
        description=f"Local Kafka (KRaft, Apache Kafka {KAFKA_VERSION}) + Confluent-compatible schema registry "
        f"(Apicurio {APICURIO_VERSION}) without Docker. State and logs in {STACK_DIR}.",
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help="fetch the Kafka jars and the registry into .stack/ (skipped when present)")
    p_up = sub.add_parser("up", help="install if needed, start Kafka and the registry, wait until both answer")
    p_up.add_argument("--kafka-port", type=int, default=9092, help="PLAINTEXT broker port on 127.0.0.1 (default 9092)")
    p_up.add_argument("--controller-port", type=int, default=9093, help="KRaft controller port on 127.0.0.1 (default 9093)")
    p_up.add_argument("--registry-port", type=int, default=8081, help="schema registry HTTP port on 127.0.0.1 (default 8081)")
    p_up.add_argument(
        "--data-dir", default=None, help="keep Kafka data here (kept by down); default: a temporary folder removed by down"
    )
    p_up.add_argument(
        "--nodes",
        type=int,
        default=1,
        choices=list(SUPPORTED_NODES),
        help="KRaft nodes: 1 (default), or 3 (RF 3, min.insync.replicas 2; node i on kafka-port+2(i-1) / controller-port+2(i-1))",
    )
    p_up.add_argument(
        "--registry-storage",
        choices=["memory", "file"],
        default="memory",
        help="registry database in memory (default) or in a file in the data dir, which survives stop-registry/start-registry",
    )
    p_up.add_argument(
        "--security",
        choices=list(MODES),
        default="plaintext",
        help="plaintext (default); sasl_ssl: TLS + SCRAM-SHA-512 users; mtls: TLS with client certificates. Both secured "
        "modes: own CA, ACLs, registry on HTTPS with basic auth; client properties files in <data dir>/security",
    )
    p_up.add_argument(
        "-t", "--topic", default=DEFAULT_TOPIC, help="secured modes: the pipeline's input topic to grant (default %(default)s)"
    )
    p_up.add_argument(
        "-g",
        "--group",
        default=DEFAULT_GROUP,
        help="secured modes: the consumer's application id to grant (default %(default)s)",
    )
    p_up.add_argument(
        "--timeout",
        type=float,
        default=KAFKA_TIMEOUT_S,
        help="seconds to wait for each of Kafka and the registry (default %(default)s)",
    )
    p_grant = sub.add_parser("grant", help="secured stack: grant the ACLs of one more pipeline (input topic, consumer group)")
    p_grant.add_argument("-t", "--topic", required=True, help="input topic (the consumer writes <topic>-totals, <topic>-dlq)")
    p_grant.add_argument("-g", "--group", required=True, help="the consumer's application id (its -g)")
    sub.add_parser("down", help="stop both (SIGTERM, then SIGKILL), remove the temporary data dir; idempotent")
    sub.add_parser("status", help="say what runs")
    for name, what in (("kill-node", "kill -9 Kafka node ID"), ("start-node", "start Kafka node ID again")):
        sub.add_parser(name, help=what).add_argument("node_id", type=int)
    sub.add_parser("stop-registry", help="kill -9 the schema registry")
    sub.add_parser("start-registry", help="start the schema registry again")
    return ap


def _up(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    stack = up(
        kafka_port=args.kafka_port,
        controller_port=args.controller_port,
        registry_port=args.registry_port,
        data_dir=args.data_dir,
        nodes=args.nodes,
        kafka_timeout=args.timeout,
        registry_timeout=args.timeout,
        registry_storage=args.registry_storage,
        security=args.security,
        topic=args.topic,
        group=args.group,
    )
    print(f"stack up in {time.monotonic() - t0:.1f}s; data in {stack.data_dir}; logs in {log_dir()}; stop with `down`")
    print(f"BOOTSTRAP_SERVERS={stack.bootstrap_servers}")
    print(f"SCHEMA_REGISTRY_URL={stack.schema_registry_url}")
    _print_security(stack.security)
    return 0


def _print_security(info: dict | None) -> None:
    """Where the client properties files are (never what is in them)."""
    if not info:
        print("SECURITY=plaintext")
        return
    print(f"SECURITY={info['mode']}")
    print(f"CA_FILE={info['ca']}")
    for role in ("producer", "consumer", "admin", "nobody"):
        print(f"{role.upper()}_CONFIG={info['files'][role]}")
    print(f"# both formats of every role: {info['dir']}/java/, {info['dir']}/librdkafka/")


def _status() -> int:
    st = status()
    if not st["running"] and "processes" not in st:
        print("not running" + (f"; stray stack pids: {st['stray_pids']}" if st["stray_pids"] else ""))
        return 0
    for p in st["processes"]:
        print(
            f"{p['name']}: {'running' if p['alive'] else 'NOT running'} pid={p['pid']} "
            f"ports={p.get('ports')} open={p['ports_open']} log={p['log']}"
        )
    print(f"registry HTTP: {'ok' if st['registry_http_ok'] else 'not answering'}")
    print(f"BOOTSTRAP_SERVERS={st['bootstrap_servers']}")
    print(f"SCHEMA_REGISTRY_URL={st['schema_registry_url']}")
    _print_security(st.get("security"))
    return 0 if st["running"] else 1


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.cmd == "install":
            install()
        elif args.cmd == "up":
            return _up(args)
        elif args.cmd == "grant":
            for g in grant_pipeline(args.topic, args.group):
                print(f"User:{g['principal']} {g['pattern']} {g['resource']} {g['name']}: {','.join(g['operations'])}")
        elif args.cmd == "down":
            down()
        elif args.cmd == "kill-node":
            kill_node(args.node_id)
        elif args.cmd == "start-node":
            start_node(args.node_id)
        elif args.cmd == "stop-registry":
            stop_registry()
        elif args.cmd == "start-registry":
            start_registry()
        elif args.cmd == "status":
            return _status()
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
