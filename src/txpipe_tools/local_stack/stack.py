"""The stack's life: ``up`` starts Kafka and the registry and waits for both, ``down`` stops them, ``status`` says
what runs, and the fault helpers take one process away and bring it back."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from txpipe_tools.local_stack import security as sec
from txpipe_tools.local_stack.acls import DEFAULT_GROUP, DEFAULT_TOPIC, create_acls, pipeline_grants
from txpipe_tools.local_stack.acls import describe as describe_grants
from txpipe_tools.local_stack.base import STACK_DIR, StackError, log, log_dir, resolve_run_dir
from txpipe_tools.local_stack.fetch import APICURIO_VERSION, KAFKA_VERSION, install
from txpipe_tools.local_stack.jdk import find_java
from txpipe_tools.local_stack.kraft import (
    KAFKA_TIMEOUT_S,
    KafkaNode,
    cluster_id,
    format_storage,
    kafka_nodes,
    node_command,
    render_properties,
    server_properties,
    wait_kafka,
)
from txpipe_tools.local_stack.processes import (
    is_ours,
    pid_alive,
    port_free,
    read_state,
    rotate_log,
    running,
    sigkill,
    start,
    state_file,
    stop_pid,
    stop_pids,
    tagged_pids,
    tcp_open,
    write_state,
)
from txpipe_tools.local_stack.registry import (
    REGISTRY_TIMEOUT_S,
    STORAGES,
    base_url,
    confluent_url,
    probe,
    registry_command,
    wait_registry,
)


@dataclasses.dataclass
class Stack:
    bootstrap_servers: str
    schema_registry_url: str
    data_dir: str
    state: dict[str, Any]
    security: dict[str, Any] | None = None  # see security_files()

    def __getitem__(self, key: str) -> Any:  # dict-style access too: stack["bootstrap_servers"]
        return getattr(self, key)


# --------------------------------------------------------------------------------------------
# up


def up(
    kafka_port: int = 9092,
    controller_port: int = 9093,
    registry_port: int = 8081,
    data_dir: str | None = None,
    nodes: int = 1,
    kafka_timeout: float = KAFKA_TIMEOUT_S,
    registry_timeout: float = REGISTRY_TIMEOUT_S,
    run_dir: Path | None = None,
    kafka_ports: list[int] | None = None,
    controller_ports: list[int] | None = None,
    registry_storage: str = "memory",
    security: str = "plaintext",
    topic: str = DEFAULT_TOPIC,
    group: str = DEFAULT_GROUP,
) -> Stack:
    """Install if needed, start Kafka then the registry, wait until both answer.

    ``nodes`` is 1 or 3 (see the package doc); ``kafka_ports``/``controller_ports`` place each
    node explicitly. ``registry_storage="file"`` keeps the registry's H2 database in the data
    dir, so a registry stopped and started again (``stop_registry``/``start_registry``) still
    has every schema under the same id; the default keeps it in memory.

    ``security`` "sasl_ssl" or "mtls" secures the stack (see security.py): TLS with the stack's own
    CA, SCRAM or certificate users, the standard authorizer, and the ACLs of the pipeline ``topic``
    / ``group`` (the consumer's application id); the registry on HTTPS behind basic auth. The
    client properties files are in ``security_files()`` and in ``Stack.security``.

    Returns a Stack with ``bootstrap_servers`` and ``schema_registry_url``. On any failure
    everything started so far is stopped again and StackError is raised.
    """
    sec.check_mode(security)
    if registry_storage not in STORAGES:
        raise StackError(f"registry_storage must be 'memory' or 'file', got {registry_storage!r}")
    t0 = time.monotonic()
    run_dir = resolve_run_dir(run_dir)
    _clear_previous_run(run_dir)

    install()
    kafka_java = find_java(17)
    registry_java = find_java(21, prefer_env="TXPIPE_REGISTRY_JAVA_HOME")

    ddir, remove_data = _data_dir(data_dir)
    knodes = _claim_ports(nodes, kafka_port, controller_port, registry_port, ddir, remove_data, kafka_ports, controller_ports)
    log_dir(run_dir).mkdir(parents=True, exist_ok=True)
    state = _new_state(run_dir, ddir, remove_data, knodes, registry_port, kafka_java, security)
    write_state(state, run_dir)
    try:
        if security != "plaintext":
            info = sec.material_for(ddir / "security", security)
            info["files"] = sec.write_client_files(info)
            state["security"] = info
            write_state(state, run_dir)
        state["cluster_id"] = cluster_id()
        started = [_start_node(state, run_dir, kafka_java, node, knodes) for node in knodes]
        # The registry (in-memory storage) does not need Kafka: start it now, so both JVMs
        # boot in parallel, then wait for each.
        registry_proc, registry_log = _start_registry_process(
            state, run_dir, registry_java, registry_port, ddir, registry_storage
        )
        for node, proc, node_log in started:
            wait_kafka(kafka_java, run_dir, node, proc.pid, node_log, kafka_timeout, _admin_file(state))
            log(f"{node.name}: ready on 127.0.0.1:{node.broker_port} ({time.monotonic() - t0:.1f}s)")
        if security != "plaintext":
            _grant(state, run_dir, topic, group)
            log(f"ACLs: granted the pipeline topic {topic!r} / group {group!r} ({time.monotonic() - t0:.1f}s)")
        wait_registry(
            f"{state['schema_registry_url']}/subjects", registry_proc.pid, registry_log, registry_timeout, *_registry_probe(state)
        )
        log(f"registry: ready on {state['registry_base_url']} ({time.monotonic() - t0:.1f}s)")
    except BaseException:
        log("start-up failed; stopping what was started")
        try:
            down(quiet=True, run_dir=run_dir)
        except StackError as e:
            log(f"cleanup: {e}")
        raise
    state["ready_after_s"] = round(time.monotonic() - t0, 1)
    write_state(state, run_dir)
    return Stack(
        bootstrap_servers=state["bootstrap_servers"],
        schema_registry_url=state["schema_registry_url"],
        data_dir=str(ddir),
        state=state,
        security=state.get("security"),
    )


def _admin_file(state: dict[str, Any]) -> str | None:
    """The broker super user's Java client properties (secured modes), for the stack's own probes."""
    info = state.get("security")
    return str(info["files"]["admin"]) if info else None


def _registry_probe(state: dict[str, Any]) -> tuple[str | None, str | None]:
    """(CA file, user:password) for the stack's registry probes: TLS and the read-only user when secured."""
    info = state.get("security")
    if not info:
        return None, None
    password = sec.load_secrets(info)["registry"][sec.CONSUMER_USER]
    return info["ca"], f"{sec.CONSUMER_USER}:{password}"


def _grant(state: dict[str, Any], run_dir: Path, topic: str, group: str) -> None:
    info = state["security"]
    create_acls(pipeline_grants(topic, group), info["files"]["librdkafka"]["admin"], state["bootstrap_servers"])
    info.setdefault("pipelines", []).append({"topic": topic, "group": group})
    write_state(state, run_dir)


def grant_pipeline(topic: str, group: str, run_dir: Path | None = None) -> list[dict[str, Any]]:
    """Grants the producer and the consumer what one more pipeline (input ``topic``, consumer
    application id ``group``) needs, on a running secured stack; returns the grants made."""
    run_dir = resolve_run_dir(run_dir)
    state = _up_state(run_dir)
    if not state.get("security"):
        raise StackError("the stack runs in plaintext: it has no authorizer, so there is nothing to grant")
    _grant(state, run_dir, topic, group)
    return describe_grants(pipeline_grants(topic, group))


def security_files(run_dir: Path | None = None) -> dict[str, Any] | None:
    """Where the running stack's security material is (None in plaintext): ``mode``, ``dir``, ``ca``
    and ``files``: ``producer`` (librdkafka keys), ``consumer``, ``admin``, ``nobody`` (Java keys),
    and ``java``/``librdkafka`` maps of every role in both formats."""
    state = read_state(resolve_run_dir(run_dir))
    if not state:
        raise StackError(f"the stack in {resolve_run_dir(run_dir)} is not up")
    info: dict[str, Any] | None = state.get("security")
    return info


def _clear_previous_run(run_dir: Path) -> None:
    """Refuses a stack that runs; stops what a crashed run left behind."""
    state = read_state(run_dir)
    if running(state, run_dir):
        raise StackError(f"the stack is already running (see {state_file(run_dir)}); run `down` first")
    if state:
        down(quiet=True, run_dir=run_dir)


def _data_dir(data_dir: str | None) -> tuple[Path, bool]:
    """The folder for Kafka's data and whether ``down`` removes it (a temporary one) or keeps it (one given)."""
    if data_dir:
        ddir = Path(data_dir).resolve()
        ddir.mkdir(parents=True, exist_ok=True)
        return ddir, False
    return Path(tempfile.mkdtemp(prefix="txpipe-stack-")), True


def _claim_ports(
    nodes: int,
    kafka_port: int,
    controller_port: int,
    registry_port: int,
    ddir: Path,
    remove_data: bool,
    kafka_ports: list[int] | None,
    controller_ports: list[int] | None,
) -> list[KafkaNode]:
    """The cluster's layout, once every port it needs is known to be free (else the temporary data dir goes)."""
    try:
        knodes = kafka_nodes(nodes, kafka_port, controller_port, ddir, kafka_ports, controller_ports)
    except StackError:
        if remove_data:
            shutil.rmtree(ddir, ignore_errors=True)
        raise
    busy = [p for n in knodes for p in (n.broker_port, n.controller_port) if not port_free(p)]
    if not port_free(registry_port):
        busy.append(registry_port)
    if busy:
        if remove_data:
            shutil.rmtree(ddir, ignore_errors=True)
        raise StackError(f"port(s) already in use on 127.0.0.1: {busy}")
    return knodes


def _new_state(
    run_dir: Path, ddir: Path, remove_data: bool, knodes: list[KafkaNode], registry_port: int, kafka_java: str, mode: str
) -> dict[str, Any]:
    """What state.json records before anything starts; each started process is added to ``processes``."""
    return {
        "stack_dir": str(STACK_DIR),
        "run_dir": str(run_dir),
        "data_dir": str(ddir),
        "remove_data_dir": remove_data,
        "bootstrap_servers": ",".join(f"127.0.0.1:{n.broker_port}" for n in knodes),
        "security_mode": mode,
        "schema_registry_url": confluent_url(registry_port, tls=mode != "plaintext"),
        "registry_base_url": base_url(registry_port, tls=mode != "plaintext"),
        "kafka_version": KAFKA_VERSION,
        "apicurio_version": APICURIO_VERSION,
        "ports": {
            "kafka": [n.broker_port for n in knodes],
            "controller": [n.controller_port for n in knodes],
            "registry": registry_port,
        },
        "nodes": len(knodes),
        "kafka_java": kafka_java,
        "processes": [],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _start_node(
    state: dict[str, Any], run_dir: Path, java: str, node: KafkaNode, knodes: list[KafkaNode]
) -> tuple[KafkaNode, subprocess.Popen[bytes], Path]:
    """Writes the node's server.properties, formats its storage, starts it and records it in state.json."""
    node.dir.mkdir(parents=True, exist_ok=True)
    info = state.get("security")
    # 0600: in sasl_ssl it holds the broker's own password.
    sec.write_secret(node.dir / "server.properties", render_properties(server_properties(node, knodes, info)))
    node_log = log_dir(run_dir) / ("kafka.log" if len(knodes) == 1 else f"{node.name}.log")
    rotate_log(node_log)
    format_storage(java, run_dir, node, state["cluster_id"], node_log, info)
    cmd = node_command(java, run_dir, node, len(knodes))
    proc = start(node.name, cmd, node_log, node.dir)
    state["processes"].append(
        {
            "name": node.name,
            "pid": proc.pid,
            "log": str(node_log),
            "ports": [node.broker_port, node.controller_port],
            "node_id": node.node_id,
            "dir": str(node.dir),
            "cmd": cmd,
            "cwd": str(node.dir),
        }
    )
    write_state(state, run_dir)
    return node, proc, node_log


def _start_registry_process(
    state: dict[str, Any], run_dir: Path, java: str, port: int, ddir: Path, storage: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """Starts the registry and records it in state.json."""
    reg_dir = ddir / "registry"
    reg_dir.mkdir(parents=True, exist_ok=True)
    reg_log = log_dir(run_dir) / "registry.log"
    rotate_log(reg_log)
    info = state.get("security")
    flags = None
    if info:
        flags, app_props = sec.registry_properties(info, port)
        (reg_dir / "config").mkdir(mode=0o700, exist_ok=True)
        sec.write_secret(reg_dir / "config" / "application.properties", app_props)
    cmd = registry_command(java, run_dir, port, reg_dir, storage, flags)
    proc = start("registry", cmd, reg_log, reg_dir)
    state["processes"].append(
        {
            "name": "registry",
            "pid": proc.pid,
            "log": str(reg_log),
            "ports": [port],
            "cmd": cmd,
            "cwd": str(reg_dir),
            "storage": storage,
        }
    )
    write_state(state, run_dir)
    return proc, reg_log


# --------------------------------------------------------------------------------------------
# down / status


def down(quiet: bool = False, run_dir: Path | None = None) -> None:
    """Stop everything in state.json (registry first), remove the temp data dir. Idempotent."""
    run_dir = resolve_run_dir(run_dir)
    state = read_state(run_dir)
    if state:
        # The registry first, then every Kafka node at once (see stop_pids: the quorum).
        procs = state.get("processes", [])
        for p in reversed(procs):
            if not p["name"].startswith("kafka-"):
                stop_pid(p["pid"], p["name"], run_dir)
        stop_pids([(p["pid"], p["name"]) for p in procs if p["name"].startswith("kafka-")], run_dir)
    # Anything else carrying this stack's tag (e.g. a crashed `up` that never wrote its PID).
    for pid in tagged_pids(run_dir):
        log(f"stray stack process pid {pid}: stopping it")
        stop_pid(pid, f"pid {pid}", run_dir)
    left = tagged_pids(run_dir)
    if left:
        raise StackError(f"processes of this stack still alive: {left}")
    if state:
        ddir = state.get("data_dir")
        if state.get("remove_data_dir") and ddir and Path(ddir).exists():
            shutil.rmtree(ddir, ignore_errors=True)
            log(f"removed data dir {ddir}")
        try:
            state_file(run_dir).unlink()
        except FileNotFoundError:
            pass
    if not quiet:
        log("down: no process of this stack is running" + ("" if state else " (it was not up)"))


def status(run_dir: Path | None = None) -> dict[str, Any]:
    """What runs: per process alive or not, plus a quick port/HTTP probe."""
    run_dir = resolve_run_dir(run_dir)
    state = read_state(run_dir)
    if not state:
        stray = tagged_pids(run_dir)
        return {"running": False, "stray_pids": stray}
    procs = []
    for p in state.get("processes", []):
        alive = pid_alive(p["pid"]) and is_ours(p["pid"], run_dir)
        procs.append({**p, "alive": alive, "ports_open": [tcp_open(x) for x in p.get("ports", [])]})
    reg_ok = probe(state["schema_registry_url"] + "/subjects", *_registry_probe(state)) == 200
    return {
        "running": all(p["alive"] for p in procs) and bool(procs),
        "processes": procs,
        "registry_http_ok": reg_ok,
        "bootstrap_servers": state["bootstrap_servers"],
        "schema_registry_url": state["schema_registry_url"],
        "data_dir": state["data_dir"],
        "security_mode": state.get("security_mode", "plaintext"),
        "security": state.get("security"),
    }


# --------------------------------------------------------------------------------------------
# faults: take one process away and bring it back (for the fault tests)


def _entry(state: dict[str, Any] | None, name: str, run_dir: Path) -> dict[str, Any]:
    if not state:
        raise StackError(f"the stack in {run_dir} is not up")
    for p in state.get("processes", []):
        if p["name"] == name:
            entry: dict[str, Any] = p
            return entry
    raise StackError(f"the stack in {run_dir} has no process named {name!r}")


def _restart(state: dict[str, Any], entry: dict[str, Any], run_dir: Path) -> subprocess.Popen[bytes]:
    if pid_alive(entry["pid"]) and is_ours(entry["pid"], run_dir):
        raise StackError(f"{entry['name']} is already running (pid {entry['pid']})")
    proc = start(entry["name"], entry["cmd"], Path(entry["log"]), Path(entry["cwd"]))
    entry["pid"] = proc.pid
    entry.setdefault("restarts", 0)
    entry["restarts"] += 1
    write_state(state, run_dir)
    return proc


def _up_state(run_dir: Path) -> dict[str, Any]:
    state = read_state(run_dir)
    if not state:
        raise StackError(f"the stack in {run_dir} is not up")
    return state


def kill_node(node_id: int, run_dir: Path | None = None) -> int | None:
    """kill -9 Kafka node ``node_id`` (by the PID recorded in state.json); returns that PID, or
    None if it was not running. Its data stays, so ``start_node`` brings the same node back."""
    run_dir = resolve_run_dir(run_dir)
    entry = _entry(read_state(run_dir), f"kafka-{node_id}", run_dir)
    pid = sigkill(entry, run_dir)
    log(f"kafka-{node_id}: killed with SIGKILL (pid {pid})" if pid else f"kafka-{node_id}: was not running")
    return pid


def start_node(node_id: int, run_dir: Path | None = None, timeout: float = KAFKA_TIMEOUT_S) -> int:
    """Start Kafka node ``node_id`` again with its recorded command; waits until it answers. Returns the PID."""
    run_dir = resolve_run_dir(run_dir)
    state = _up_state(run_dir)
    entry = _entry(state, f"kafka-{node_id}", run_dir)
    t0 = time.monotonic()
    proc = _restart(state, entry, run_dir)
    node = KafkaNode(node_id, entry["ports"][0], entry["ports"][1], Path(entry["dir"]))
    wait_kafka(state.get("kafka_java") or find_java(17), run_dir, node, proc.pid, Path(entry["log"]), timeout, _admin_file(state))
    log(f"kafka-{node_id}: back on 127.0.0.1:{node.broker_port} ({time.monotonic() - t0:.1f}s)")
    return proc.pid


def stop_registry(run_dir: Path | None = None) -> int | None:
    """kill -9 the schema registry. Start it with ``start_registry``; unless the stack was started
    with registry_storage="file", it comes back empty."""
    run_dir = resolve_run_dir(run_dir)
    entry = _entry(read_state(run_dir), "registry", run_dir)
    pid = sigkill(entry, run_dir)
    log(f"registry: killed with SIGKILL (pid {pid})" if pid else "registry: was not running")
    return pid


def start_registry(run_dir: Path | None = None, timeout: float = REGISTRY_TIMEOUT_S) -> int:
    """Start the schema registry again with its recorded command; waits until it answers."""
    run_dir = resolve_run_dir(run_dir)
    state = _up_state(run_dir)
    entry = _entry(state, "registry", run_dir)
    t0 = time.monotonic()
    proc = _restart(state, entry, run_dir)
    wait_registry(f"{state['schema_registry_url']}/subjects", proc.pid, Path(entry["log"]), timeout, *_registry_probe(state))
    log(f"registry: back on {state['registry_base_url']} ({time.monotonic() - t0:.1f}s)")
    return proc.pid
