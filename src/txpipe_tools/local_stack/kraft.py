"""The KRaft cluster: where each node listens, its server.properties, its storage, its start and readiness.

Every node is a combined broker + controller on 127.0.0.1. One node: replication factor 1. Three
nodes: all three controller voters, replication factor 3, min.insync.replicas 2 for the
application's topics and the internal ones, as in docker/docker-compose.yml (a unit test compares
the two).
"""

from __future__ import annotations

import base64
import dataclasses
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, NoReturn

from txpipe_tools.local_stack import security as security_mod
from txpipe_tools.local_stack.base import StackError
from txpipe_tools.local_stack.fetch import KAFKA_LIBS, KAFKA_LOG4J2
from txpipe_tools.local_stack.processes import pid_alive, tag, tail, tcp_open

SUPPORTED_NODES = (1, 3)
KAFKA_TIMEOUT_S = 120.0


@dataclasses.dataclass
class KafkaNode:
    node_id: int
    broker_port: int
    controller_port: int
    dir: Path  # holds server.properties and data/

    @property
    def name(self) -> str:
        return f"kafka-{self.node_id}"


def cluster_id() -> str:
    """A new KRaft cluster id."""
    # Same form as org.apache.kafka.common.Uuid.randomUuid().toString(): 16 random bytes,
    # URL-safe base64 without padding; Kafka refuses ids that start with '-'.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def kafka_nodes(
    n: int,
    kafka_port: int,
    controller_port: int,
    data_dir: Path,
    kafka_ports: list[int] | None = None,
    controller_ports: list[int] | None = None,
) -> list[KafkaNode]:
    """Node i (1..n) on kafka_port+2(i-1) / controller_port+2(i-1), or on the ports given."""
    if n not in SUPPORTED_NODES:
        raise StackError(f"--nodes must be one of {SUPPORTED_NODES}, got {n}")
    bports = list(kafka_ports) if kafka_ports else [kafka_port + 2 * i for i in range(n)]
    cports = list(controller_ports) if controller_ports else [controller_port + 2 * i for i in range(n)]
    if len(bports) != n or len(cports) != n:
        raise StackError(f"{n} nodes need {n} broker and {n} controller ports, got {bports} and {cports}")
    if len(set(bports + cports)) != 2 * n:
        raise StackError(f"broker and controller ports must all differ: {bports} {cports}")
    return [KafkaNode(i + 1, bports[i], cports[i], data_dir / f"kafka-{i + 1}") for i in range(n)]


def server_properties(node: KafkaNode, nodes: list[KafkaNode], security: dict[str, Any] | None = None) -> dict[str, str]:
    """The broker settings of ``node`` in a cluster of ``nodes``; ``security`` (from security.make_material)
    turns the published listener into SASL_SSL or mutual-TLS and the controller listener into mutual TLS."""
    rf = len(nodes)
    min_isr = 1 if rf == 1 else 2
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
    props: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(node.dir / "data"),
        "num.partitions": 1,
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        # Never elect a replica that is out of sync: acknowledged writes would be lost.
        "unclean.leader.election.enable": "false",
        "group.initial.rebalance.delay.ms": 0,
        "auto.create.topics.enable": "false",
    }
    if security and security["mode"] != "plaintext":
        listener = security_mod.CLIENT_LISTENER
        props["listeners"] = f"{listener}://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port}"
        props["advertised.listeners"] = f"{listener}://127.0.0.1:{node.broker_port}"
        props.update(security_mod.broker_properties(security))
    return {k: str(v) for k, v in props.items()}


def render_properties(props: dict[str, str]) -> str:
    """A server.properties file's text."""
    return "".join(f"{k}={v}\n" for k, v in props.items())


def kafka_java_cmd(java: str, run_dir: Path, main: str, *args: str, heap: str = "-Xmx256m") -> list[str]:
    """A JVM running one of Kafka's main classes from the installed jars, tagged as this stack's."""
    return [
        java,
        heap,
        "-Djava.awt.headless=true",
        tag(run_dir),
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J2}",
        "-cp",
        str(KAFKA_LIBS / "*"),
        main,
        *args,
    ]


def node_command(java: str, run_dir: Path, node: KafkaNode, cluster_size: int) -> list[str]:
    """The broker JVM of ``node``."""
    heap = "-Xmx1g" if cluster_size == 1 else "-Xmx640m"
    cmd = kafka_java_cmd(java, run_dir, "kafka.Kafka", str(node.dir / "server.properties"), heap=heap)
    cmd[2:2] = ["-Xms256m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
    return cmd


def format_storage(
    java: str, run_dir: Path, node: KafkaNode, cluster: str, log_path: Path, security: dict[str, Any] | None = None
) -> None:
    """Formats the node's KRaft log directory for cluster id ``cluster`` (kept when already formatted),
    with the SCRAM users of the sasl_ssl mode."""
    cmd = kafka_java_cmd(
        java,
        run_dir,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster,
        "-c",
        str(node.dir / "server.properties"),
        "--ignore-formatted",
    )
    scram = security_mod.scram_format_args(security) if security else []
    if scram:
        # kafka-storage reads --add-scram only from its arguments: hand them to the JVM in an
        # @argfile, so the passwords are never in any process's argv (ps shows `java @file`).
        argfile = Path(security["dir"]) / f"format-{node.name}.args"  # type: ignore[index]
        security_mod.write_secret(argfile, "".join(_argfile_quote(a) + "\n" for a in cmd[1:] + scram))
        cmd = [cmd[0], tag(run_dir), f"@{argfile}"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    finally:
        if scram:
            Path(cmd[-1][1:]).unlink(missing_ok=True)
    with open(log_path, "a") as log:
        log.write(f"\n===== format {node.name}: {' '.join(cmd)}\n{proc.stdout}")
    if proc.returncode != 0:
        raise StackError(f"{node.name}: formatting KRaft storage failed:\n{proc.stdout[-3000:]}")


def _argfile_quote(arg: str) -> str:
    """One argument for a java @argfile (quoted, with backslashes and quotes escaped)."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wait_kafka(
    java: str,
    run_dir: Path,
    node: KafkaNode,
    proc_pid: int,
    log_path: Path,
    timeout: float,
    command_config: str | None = None,
) -> None:
    """Returns once the node's broker answers a metadata round trip; raises StackError with its log's tail."""
    deadline = time.monotonic() + timeout
    what = f"Kafka {node.name} (127.0.0.1:{node.broker_port})"

    def _fail(reason: str) -> NoReturn:
        raise StackError(f"{what} did not come up: {reason}\n--- tail of {log_path} ---\n{tail(log_path)}")

    while not tcp_open(node.broker_port):
        if not pid_alive(proc_pid):
            _fail("the process exited")
        if time.monotonic() > deadline:
            _fail(f"port not open after {timeout:.0f}s")
        time.sleep(0.3)
    # A real metadata round trip: BrokerApiVersionsCommand (Admin client) asks the broker for
    # the cluster metadata and then every broker listed there for its API versions.
    last = ""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            _fail(f"no metadata answer after {timeout:.0f}s: {last[-1500:]}")
        if not pid_alive(proc_pid):
            _fail("the process exited")
        cmd = kafka_java_cmd(
            java,
            run_dir,
            "org.apache.kafka.tools.BrokerApiVersionsCommand",
            "--bootstrap-server",
            f"127.0.0.1:{node.broker_port}",
            *(["--command-config", command_config] if command_config else []),
            heap="-Xmx128m",
        )
        try:
            r = subprocess.run(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=max(5.0, min(left, 30.0))
            )
            last = r.stdout
            if r.returncode == 0 and f"127.0.0.1:{node.broker_port}" in r.stdout:
                return
        except subprocess.TimeoutExpired:
            last = "(metadata check timed out)"
        time.sleep(0.5)
