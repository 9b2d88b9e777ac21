"""A real local Kafka broker and a Confluent-compatible schema registry, without Docker.

Standard library only: this runs before any virtualenv exists.

    PYTHONPATH=src python3 -m txpipe.local_stack install
    PYTHONPATH=src python3 -m txpipe.local_stack up [--kafka-port 9092] [--controller-port 9093]
                                                    [--registry-port 8081] [--data-dir DIR]
                                                    [--nodes 1|3] [--registry-storage memory|file]
    PYTHONPATH=src python3 -m txpipe.local_stack status
    PYTHONPATH=src python3 -m txpipe.local_stack kill-node ID | start-node ID
    PYTHONPATH=src python3 -m txpipe.local_stack stop-registry | start-registry
    PYTHONPATH=src python3 -m txpipe.local_stack down

What it runs:

* Apache Kafka 4.2.2 (jars fetched by Maven with local_stack/kafka/pom.xml into
  .stack/kafka/libs), one KRaft node in combined broker+controller mode on 127.0.0.1, on the
  default JDK (17 or newer). With --nodes 3: three combined nodes (node i on
  kafka_port+2(i-1) / controller_port+2(i-1) unless given explicitly), all three controller
  voters, default replication factor 3, min.insync.replicas 2, unclean leader election off,
  internal topics (offsets, transaction state) RF 3 / min ISR 2. ``kill_node`` (SIGKILL) and
  ``start_node`` let fault tests take one node away and bring it back.
* Apicurio Registry 3.3.3 (its prebuilt Quarkus distribution, fetched and unpacked by Maven with
  local_stack/registry/pom.xml into .stack/registry/app), in-memory H2 storage, on 127.0.0.1.
  It needs a JDK 21 or newer: $TXPIPE_REGISTRY_JAVA_HOME, $JAVA_HOME, the java on PATH, or the
  newest JDK under /usr/lib/jvm, whichever first is new enough.
  Confluent clients use the base URL http://127.0.0.1:<port>/apis/ccompat/v7.

Everything lives in .stack/ at the repository root (logs in .stack/logs, state in
.stack/state.json). Kafka data goes to a temporary folder (removed by ``down``) unless
--data-dir is given (then kept).

From Python (pytest fixtures)::

    from txpipe import local_stack
    stack = local_stack.up()          # -> Stack(bootstrap_servers=..., schema_registry_url=...)
    ...
    local_stack.down()

Each started process's command line is kept in state.json, so ``start_node`` and
``start_registry`` run exactly the same command again.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Optional

KAFKA_VERSION = "4.2.2"
APICURIO_VERSION = "3.3.3"

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_DIR = Path(os.environ.get("TXPIPE_STACK_DIR", REPO_ROOT / ".stack")).resolve()
KAFKA_POM = REPO_ROOT / "local_stack" / "kafka" / "pom.xml"
KAFKA_LOG4J2 = REPO_ROOT / "local_stack" / "kafka" / "log4j2.properties"
REGISTRY_POM = REPO_ROOT / "local_stack" / "registry" / "pom.xml"

KAFKA_LIBS = STACK_DIR / "kafka" / "libs"
REGISTRY_APP = STACK_DIR / "registry" / "app"
# The default run directory (state.json, logs/). Tests pass their own run_dir so that they never
# touch, or are refused by, a stack the developer left running.
DEFAULT_RUN_DIR = STACK_DIR

KAFKA_MARKER = KAFKA_LIBS / f".installed-kafka-{KAFKA_VERSION}"
REGISTRY_MARKER = REGISTRY_APP / f".installed-apicurio-{APICURIO_VERSION}"

KAFKA_TIMEOUT_S = 120.0
REGISTRY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0

# Every JVM we start carries this -D tag, so ``down`` can prove none of ours is left behind
# (and find strays by PID) without ever matching processes by a broad name.
TAG_PROPERTY = "txpipe.local_stack"


class StackError(RuntimeError):
    """Something in the local stack could not be installed, started or stopped."""


@dataclasses.dataclass
class Stack:
    bootstrap_servers: str
    schema_registry_url: str
    data_dir: str
    state: dict

    def __getitem__(self, key):  # dict-style access too: stack["bootstrap_servers"]
        return getattr(self, key)


@dataclasses.dataclass
class KafkaNode:
    node_id: int
    broker_port: int
    controller_port: int
    dir: Path  # holds server.properties and data/

    @property
    def name(self) -> str:
        return f"kafka-{self.node_id}"


def _log(msg: str) -> None:
    print(f"[local_stack] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# install


def _tag(run_dir: Path) -> str:
    return f"-D{TAG_PROPERTY}={run_dir}"


def _state_file(run_dir: Path) -> Path:
    return run_dir / "state.json"


def log_dir(run_dir: Optional[Path] = None) -> Path:
    """Where the stack's logs are kept."""
    return Path(run_dir or DEFAULT_RUN_DIR) / "logs"


def _run_maven(args: list[str], java_home: Optional[str] = None) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError("Maven (mvn) is not on PATH; it is needed to fetch the Kafka and registry jars")
    env = dict(os.environ)
    if java_home:
        env["JAVA_HOME"] = java_home
    cmd = [mvn, "-q", "-B", *args]
    _log("running: " + " ".join(cmd))
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise StackError(f"Maven failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}")


def _install_into(target: Path, marker: Path, expected: str, version: str, maven_args: list[str]) -> bool:
    """Runs Maven into a fresh folder beside ``target`` and swaps it in, so a half-done fetch is never used."""
    if marker.exists() and (target / expected).exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        _run_maven([arg.replace("{dir}", str(tmp)) for arg in maven_args])
        if not (tmp / expected).exists():
            raise StackError(f"Maven ran but {expected} is not in {tmp}")
        (tmp / marker.name).write_text(version + "\n")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def _install_kafka() -> bool:
    return _install_into(KAFKA_LIBS, KAFKA_MARKER, f"kafka_2.13-{KAFKA_VERSION}.jar", KAFKA_VERSION,
                         ["-f", str(KAFKA_POM), "dependency:copy-dependencies", "-DoutputDirectory={dir}"])


def _install_registry() -> bool:
    return _install_into(REGISTRY_APP, REGISTRY_MARKER, "quarkus-run.jar", APICURIO_VERSION,
                         ["-f", str(REGISTRY_POM), "dependency:unpack", "-Dregistry.dir={dir}"])


def install() -> None:
    """Fetch what is missing into .stack/ (fast no-op when already there)."""
    t0 = time.monotonic()
    did_kafka = _install_kafka()
    did_registry = _install_registry()
    _log(
        f"install: kafka {KAFKA_VERSION} {'fetched' if did_kafka else 'present'}, "
        f"apicurio {APICURIO_VERSION} {'fetched' if did_registry else 'present'} "
        f"({time.monotonic() - t0:.1f}s)"
    )


# --------------------------------------------------------------------------------------------
# java


def _java_major(java: str) -> int:
    try:
        out = subprocess.run([java, "-version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return 0
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _java_candidates() -> list[str]:
    cands: list[str] = []
    for var in ("TXPIPE_REGISTRY_JAVA_HOME", "JAVA_HOME"):
        home = os.environ.get(var)
        if home:
            cands.append(str(Path(home) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        cands.append(on_path)
    jvm_root = Path("/usr/lib/jvm")
    if jvm_root.is_dir():
        cands.extend(str(p / "bin" / "java") for p in sorted(jvm_root.iterdir()) if (p / "bin" / "java").exists())
    seen, unique = set(), []
    for c in cands:
        if c not in seen and os.access(c, os.X_OK):
            seen.add(c)
            unique.append(c)
    return unique


def find_java(min_major: int, prefer_env: Optional[str] = None) -> str:
    """A java executable of at least ``min_major``.

    Kafka takes the first one (JAVA_HOME, PATH); the registry, which needs 21+, may need the
    newest under /usr/lib/jvm.
    """
    cands = _java_candidates()
    if prefer_env and os.environ.get(prefer_env):
        cands.insert(0, str(Path(os.environ[prefer_env]) / "bin" / "java"))
    versions = []
    for c in cands:  # lazily: each probe starts a JVM
        v = _java_major(c)
        versions.append((c, v))
        if v >= min_major:
            return c
    raise StackError(f"no Java {min_major}+ found (looked at: {versions}); set TXPIPE_REGISTRY_JAVA_HOME")


# --------------------------------------------------------------------------------------------
# processes


def _pid_alive(pid: int) -> bool:
    try:  # reap it if it is our own child
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _is_ours(pid: int, run_dir: Path) -> bool:
    return _tag(run_dir) in _cmdline(pid)


def _tagged_pids(run_dir: Path) -> list[int]:
    """PIDs of live processes carrying this stack's tag (exact argument match)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and _is_ours(int(entry), run_dir) and _pid_alive(int(entry)):
            pids.append(int(entry))
    return pids


def _stop_pid(pid: int, name: str, run_dir: Path, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group we created (start_new_session), wait, then SIGKILL."""
    if not _pid_alive(pid):
        return
    if not _is_ours(pid, run_dir):
        _log(f"{name}: pid {pid} is alive but is not a process of this stack; leaving it alone")
        return

    def _signal(sig):
        try:
            os.killpg(pid, sig)  # pgid == pid: started with start_new_session=True
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    _signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            _log(f"{name}: stopped (pid {pid})")
            return
        time.sleep(0.2)
    _log(f"{name}: pid {pid} did not stop within {timeout:.0f}s of SIGTERM; sending SIGKILL")
    _signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.1)
    if _pid_alive(pid):
        raise StackError(f"{name}: pid {pid} still alive after SIGKILL")


def _start(name: str, cmd: list[str], log_path: Path, cwd: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:  # _rotate_log() gave each `up` a fresh file
        log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}: {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(cwd), start_new_session=True)
    _log(f"{name}: started pid {proc.pid}, log {log_path}")
    return proc


def _rotate_log(path: Path) -> None:
    """Keep the previous run's log as <name>.1; start this run's log empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_name(path.name + ".1"))


def _tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(text.splitlines()[-lines:])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _http_status(url: str, timeout: float = 3.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


# --------------------------------------------------------------------------------------------
# state


def _read_state(run_dir: Path) -> Optional[dict]:
    try:
        return json.loads(_state_file(run_dir).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        _log(f"ignoring unreadable {_state_file(run_dir)}: {e}")
        return None


def _write_state(state: dict, run_dir: Path) -> None:
    path = _state_file(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# kafka


def _cluster_id() -> str:
    # Same form as org.apache.kafka.common.Uuid.randomUuid().toString(): 16 random bytes,
    # URL-safe base64 without padding; Kafka refuses ids that start with '-'.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


SUPPORTED_NODES = (1, 3)


def _kafka_nodes(n: int, kafka_port: int, controller_port: int, data_dir: Path,
                 kafka_ports: Optional[list[int]] = None,
                 controller_ports: Optional[list[int]] = None) -> list[KafkaNode]:
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


def _server_properties(node: KafkaNode, nodes: list[KafkaNode]) -> str:
    rf = len(nodes)
    min_isr = 1 if rf == 1 else 2
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
    props = {
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
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _kafka_java_cmd(java: str, run_dir: Path, main: str, *args: str, heap: str = "-Xmx256m") -> list[str]:
    return [
        java, heap, "-Djava.awt.headless=true", _tag(run_dir),
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J2}",
        "-cp", str(KAFKA_LIBS / "*"), main, *args,
    ]


def _format_storage(java: str, run_dir: Path, node: KafkaNode, cluster_id: str, log_path: Path) -> None:
    cmd = _kafka_java_cmd(java, run_dir, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                          "-c", str(node.dir / "server.properties"), "--ignore-formatted")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    with open(log_path, "a") as log:
        log.write(f"\n===== format {node.name}: {' '.join(cmd)}\n{proc.stdout}")
    if proc.returncode != 0:
        raise StackError(f"{node.name}: formatting KRaft storage failed:\n{proc.stdout[-3000:]}")


def _wait_kafka(java: str, run_dir: Path, node: KafkaNode, proc_pid: int, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    what = f"Kafka {node.name} (127.0.0.1:{node.broker_port})"

    def _fail(reason: str):
        raise StackError(f"{what} did not come up: {reason}\n--- tail of {log_path} ---\n{_tail(log_path)}")

    while not _tcp_open(node.broker_port):
        if not _pid_alive(proc_pid):
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
        if not _pid_alive(proc_pid):
            _fail("the process exited")
        cmd = _kafka_java_cmd(java, run_dir, "org.apache.kafka.tools.BrokerApiVersionsCommand",
                              "--bootstrap-server", f"127.0.0.1:{node.broker_port}", heap="-Xmx128m")
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=max(5.0, min(left, 30.0)))
            last = r.stdout
            if r.returncode == 0 and f"127.0.0.1:{node.broker_port}" in r.stdout:
                return
        except subprocess.TimeoutExpired:
            last = "(metadata check timed out)"
        time.sleep(0.5)


def _wait_registry(url: str, proc_pid: int, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        status = _http_status(url)
        if status == 200:
            return
        if not _pid_alive(proc_pid):
            break
        time.sleep(0.3)
    reason = "the process exited" if not _pid_alive(proc_pid) else f"no 200 after {timeout:.0f}s (last {status})"
    raise StackError(f"schema registry (GET {url}) did not come up: {reason}\n"
                     f"--- tail of {log_path} ---\n{_tail(log_path)}")


# --------------------------------------------------------------------------------------------
# up / down / status


def _running(state: Optional[dict], run_dir: Path) -> list[dict]:
    if not state:
        return []
    return [p for p in state.get("processes", []) if _pid_alive(p["pid"]) and _is_ours(p["pid"], run_dir)]


def up(kafka_port: int = 9092, controller_port: int = 9093, registry_port: int = 8081,
       data_dir: Optional[str] = None, nodes: int = 1,
       kafka_timeout: float = KAFKA_TIMEOUT_S, registry_timeout: float = REGISTRY_TIMEOUT_S,
       run_dir: Optional[Path] = None, kafka_ports: Optional[list[int]] = None,
       controller_ports: Optional[list[int]] = None, registry_storage: str = "memory") -> Stack:
    """Install if needed, start Kafka then the registry, wait until both answer.

    ``nodes`` is 1 or 3 (see the module doc); ``kafka_ports``/``controller_ports`` place each
    node explicitly. ``registry_storage="file"`` keeps the registry's H2 database in the data
    dir, so a registry stopped and started again (``stop_registry``/``start_registry``) still
    has every schema under the same id; the default keeps it in memory.

    Returns a Stack with ``bootstrap_servers`` and ``schema_registry_url``. On any failure
    everything started so far is stopped again and StackError is raised.
    """
    if registry_storage not in ("memory", "file"):
        raise StackError(f"registry_storage must be 'memory' or 'file', got {registry_storage!r}")
    t0 = time.monotonic()
    run_dir = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    logs = log_dir(run_dir)
    state = _read_state(run_dir)
    if _running(state, run_dir):
        raise StackError(f"the stack is already running (see {_state_file(run_dir)}); run `down` first")
    if state:
        down(quiet=True, run_dir=run_dir)  # leftovers of a crashed run

    install()
    kafka_java = find_java(17)
    registry_java = find_java(21, prefer_env="TXPIPE_REGISTRY_JAVA_HOME")

    if data_dir:
        ddir = Path(data_dir).resolve()
        ddir.mkdir(parents=True, exist_ok=True)
        remove_data = False
    else:
        ddir = Path(tempfile.mkdtemp(prefix="txpipe-stack-"))
        remove_data = True

    try:
        knodes = _kafka_nodes(nodes, kafka_port, controller_port, ddir, kafka_ports, controller_ports)
    except StackError:
        if remove_data:
            shutil.rmtree(ddir, ignore_errors=True)
        raise
    busy = [p for n in knodes for p in (n.broker_port, n.controller_port) if not _port_free(p)]
    if not _port_free(registry_port):
        busy.append(registry_port)
    if busy:
        if remove_data:
            shutil.rmtree(ddir, ignore_errors=True)
        raise StackError(f"port(s) already in use on 127.0.0.1: {busy}")

    bootstrap = ",".join(f"127.0.0.1:{n.broker_port}" for n in knodes)
    registry_base = f"http://127.0.0.1:{registry_port}"
    registry_url = f"{registry_base}/apis/ccompat/v7"
    logs.mkdir(parents=True, exist_ok=True)
    state = {
        "stack_dir": str(STACK_DIR),
        "run_dir": str(run_dir),
        "data_dir": str(ddir),
        "remove_data_dir": remove_data,
        "bootstrap_servers": bootstrap,
        "schema_registry_url": registry_url,
        "registry_base_url": registry_base,
        "kafka_version": KAFKA_VERSION,
        "apicurio_version": APICURIO_VERSION,
        "ports": {"kafka": [n.broker_port for n in knodes], "controller": [n.controller_port for n in knodes],
                  "registry": registry_port},
        "nodes": len(knodes),
        "kafka_java": kafka_java,
        "processes": [],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_state(state, run_dir)
    try:
        cluster_id = _cluster_id()
        state["cluster_id"] = cluster_id
        started = []
        for node in knodes:
            node.dir.mkdir(parents=True, exist_ok=True)
            (node.dir / "server.properties").write_text(_server_properties(node, knodes))
            log_path = logs / ("kafka.log" if len(knodes) == 1 else f"{node.name}.log")
            _rotate_log(log_path)
            _format_storage(kafka_java, run_dir, node, cluster_id, log_path)
            heap = "-Xmx1g" if len(knodes) == 1 else "-Xmx640m"
            cmd = _kafka_java_cmd(kafka_java, run_dir, "kafka.Kafka", str(node.dir / "server.properties"), heap=heap)
            cmd[2:2] = ["-Xms256m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
            proc = _start(node.name, cmd, log_path, node.dir)
            state["processes"].append({"name": node.name, "pid": proc.pid, "log": str(log_path),
                                       "ports": [node.broker_port, node.controller_port],
                                       "node_id": node.node_id, "dir": str(node.dir),
                                       "cmd": cmd, "cwd": str(node.dir)})
            _write_state(state, run_dir)
            started.append((node, proc, log_path))
        # The registry (in-memory storage) does not need Kafka: start it now, so both JVMs
        # boot in parallel, then wait for each.
        reg_dir = ddir / "registry"
        reg_dir.mkdir(parents=True, exist_ok=True)
        reg_log = logs / "registry.log"
        _rotate_log(reg_log)
        reg_cmd = [
            registry_java, "-Xms128m", "-Xmx512m", _tag(run_dir),
            "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={registry_port}",
            # Quarkus' management interface (health/metrics) defaults to 0.0.0.0:9000: keep it on
            # loopback, on a free ephemeral port, so it never clashes.
            "-Dquarkus.management.host=127.0.0.1", "-Dquarkus.management.port=0",
            f"-Dapicurio.storage.snapshot.location={reg_dir}",
            *([f"-Dapicurio.datasource.url=jdbc:h2:file:{reg_dir / 'registry-db'}"] if registry_storage == "file" else []),
            f"-Djava.io.tmpdir={reg_dir}",
            "-jar", str(REGISTRY_APP / "quarkus-run.jar"),
        ]
        rproc = _start("registry", reg_cmd, reg_log, reg_dir)
        state["processes"].append({"name": "registry", "pid": rproc.pid, "log": str(reg_log),
                                   "ports": [registry_port], "cmd": reg_cmd, "cwd": str(reg_dir),
                                   "storage": registry_storage})
        _write_state(state, run_dir)

        for node, proc, log_path in started:
            _wait_kafka(kafka_java, run_dir, node, proc.pid, log_path, kafka_timeout)
            _log(f"{node.name}: ready on 127.0.0.1:{node.broker_port} ({time.monotonic() - t0:.1f}s)")
        _wait_registry(f"{registry_url}/subjects", rproc.pid, reg_log, registry_timeout)
        _log(f"registry: ready on {registry_base} ({time.monotonic() - t0:.1f}s)")
    except BaseException:
        _log("start-up failed; stopping what was started")
        try:
            down(quiet=True, run_dir=run_dir)
        except StackError as e:
            _log(f"cleanup: {e}")
        raise
    state["ready_after_s"] = round(time.monotonic() - t0, 1)
    _write_state(state, run_dir)
    return Stack(bootstrap_servers=bootstrap, schema_registry_url=registry_url, data_dir=str(ddir), state=state)


def down(quiet: bool = False, run_dir: Optional[Path] = None) -> None:
    """Stop everything in state.json (registry first), remove the temp data dir. Idempotent."""
    run_dir = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    state = _read_state(run_dir)
    if state:
        for p in reversed(state.get("processes", [])):
            _stop_pid(p["pid"], p["name"], run_dir)
    # Anything else carrying this stack's tag (e.g. a crashed `up` that never wrote its PID).
    for pid in _tagged_pids(run_dir):
        _log(f"stray stack process pid {pid}: stopping it")
        _stop_pid(pid, f"pid {pid}", run_dir)
    left = _tagged_pids(run_dir)
    if left:
        raise StackError(f"processes of this stack still alive: {left}")
    if state:
        ddir = state.get("data_dir")
        if state.get("remove_data_dir") and ddir and Path(ddir).exists():
            shutil.rmtree(ddir, ignore_errors=True)
            _log(f"removed data dir {ddir}")
        try:
            _state_file(run_dir).unlink()
        except FileNotFoundError:
            pass
    if not quiet:
        _log("down: no process of this stack is running" + ("" if state else " (it was not up)"))


def status(run_dir: Optional[Path] = None) -> dict:
    """What runs: per process alive or not, plus a quick port/HTTP probe."""
    run_dir = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    state = _read_state(run_dir)
    if not state:
        stray = _tagged_pids(run_dir)
        return {"running": False, "stray_pids": stray}
    procs = []
    for p in state.get("processes", []):
        alive = _pid_alive(p["pid"]) and _is_ours(p["pid"], run_dir)
        procs.append({**p, "alive": alive, "ports_open": [_tcp_open(x) for x in p.get("ports", [])]})
    reg_ok = _http_status(state["schema_registry_url"] + "/subjects") == 200
    return {"running": all(p["alive"] for p in procs) and bool(procs), "processes": procs,
            "registry_http_ok": reg_ok, "bootstrap_servers": state["bootstrap_servers"],
            "schema_registry_url": state["schema_registry_url"], "data_dir": state["data_dir"]}


# --------------------------------------------------------------------------------------------
# faults: take one process away and bring it back (for the fault tests)


def _entry(state: Optional[dict], name: str, run_dir: Path) -> dict:
    if not state:
        raise StackError(f"the stack in {run_dir} is not up")
    for p in state.get("processes", []):
        if p["name"] == name:
            return p
    raise StackError(f"the stack in {run_dir} has no process named {name!r}")


def _sigkill(entry: dict, run_dir: Path) -> Optional[int]:
    """kill -9 the recorded PID (its own process group) if it is alive and ours; returns it."""
    pid = entry["pid"]
    if not _pid_alive(pid):
        return None
    if not _is_ours(pid, run_dir):
        raise StackError(f"{entry['name']}: pid {pid} is not a process of this stack; not killing it")
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            raise StackError(f"{entry['name']}: pid {pid} still alive 10s after SIGKILL")
        time.sleep(0.05)
    return pid


def _restart(state: dict, entry: dict, run_dir: Path) -> subprocess.Popen:
    if _pid_alive(entry["pid"]) and _is_ours(entry["pid"], run_dir):
        raise StackError(f"{entry['name']} is already running (pid {entry['pid']})")
    proc = _start(entry["name"], entry["cmd"], Path(entry["log"]), Path(entry["cwd"]))
    entry["pid"] = proc.pid
    entry.setdefault("restarts", 0)
    entry["restarts"] += 1
    _write_state(state, run_dir)
    return proc


def kill_node(node_id: int, run_dir: Optional[Path] = None) -> Optional[int]:
    """kill -9 Kafka node ``node_id`` (by the PID recorded in state.json); returns that PID, or
    None if it was not running. Its data stays, so ``start_node`` brings the same node back."""
    run_dir = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    entry = _entry(_read_state(run_dir), f"kafka-{node_id}", run_dir)
    pid = _sigkill(entry, run_dir)
    _log(f"kafka-{node_id}: killed with SIGKILL (pid {pid})" if pid else f"kafka-{node_id}: was not running")
    return pid


def start_node(node_id: int, run_dir: Optional[Path] = None, timeout: float = KAFKA_TIMEOUT_S) -> int:
    """Start Kafka node ``node_id`` again with its recorded command; waits until it answers. Returns the PID."""
    run_dir = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    state = _read_state(run_dir)
    entry = _entry(state, f"kafka-{node_id}", run_dir)
    t0 = time.monotonic()
    proc = _restart(state, entry, run_dir)
    node = KafkaNode(node_id, entry["ports"][0], entry["ports"][1], Path(entry["dir"]))
    _wait_kafka(state.get("kafka_java") or find_java(17), run_dir, node, proc.pid, Path(entry["log"]), timeout)
    _log(f"kafka-{node_id}: back on 127.0.0.1:{node.broker_port} ({time.monotonic() - t0:.1f}s)")
    return proc.pid


def stop_registry(run_dir: Optional[Path] = None) -> Optional[int]:
    """kill -9 the schema registry. Start it with ``start_registry``; unless the stack was started
    with registry_storage="file", it comes back empty."""
    run_dir = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    entry = _entry(_read_state(run_dir), "registry", run_dir)
    pid = _sigkill(entry, run_dir)
    _log(f"registry: killed with SIGKILL (pid {pid})" if pid else "registry: was not running")
    return pid


def start_registry(run_dir: Optional[Path] = None, timeout: float = REGISTRY_TIMEOUT_S) -> int:
    """Start the schema registry again with its recorded command; waits until it answers."""
    run_dir = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    state = _read_state(run_dir)
    entry = _entry(state, "registry", run_dir)
    t0 = time.monotonic()
    proc = _restart(state, entry, run_dir)
    _wait_registry(f"{state['schema_registry_url']}/subjects", proc.pid, Path(entry["log"]), timeout)
    _log(f"registry: back on {state['registry_base_url']} ({time.monotonic() - t0:.1f}s)")
    return proc.pid


# --------------------------------------------------------------------------------------------
# CLI


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python3 -m txpipe.local_stack",
        description="Local Kafka (KRaft, Apache Kafka %s) + Confluent-compatible schema registry "
                    "(Apicurio %s) without Docker. State and logs in %s." % (KAFKA_VERSION, APICURIO_VERSION, STACK_DIR),
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help="fetch the Kafka jars and the registry into .stack/ (skipped when present)")
    p_up = sub.add_parser("up", help="install if needed, start Kafka and the registry, wait until both answer")
    p_up.add_argument("--kafka-port", type=int, default=9092, help="PLAINTEXT broker port on 127.0.0.1 (default 9092)")
    p_up.add_argument("--controller-port", type=int, default=9093, help="KRaft controller port on 127.0.0.1 (default 9093)")
    p_up.add_argument("--registry-port", type=int, default=8081, help="schema registry HTTP port on 127.0.0.1 (default 8081)")
    p_up.add_argument("--data-dir", default=None,
                      help="keep Kafka data here (kept by down); default: a temporary folder removed by down")
    p_up.add_argument("--nodes", type=int, default=1, choices=list(SUPPORTED_NODES),
                      help="KRaft nodes: 1 (default), or 3 (RF 3, min.insync.replicas 2; node i on "
                           "kafka-port+2(i-1) / controller-port+2(i-1))")
    p_up.add_argument("--registry-storage", choices=["memory", "file"], default="memory",
                      help="registry database in memory (default) or in a file in the data dir, which "
                           "survives stop-registry/start-registry")
    p_up.add_argument("--timeout", type=float, default=KAFKA_TIMEOUT_S,
                      help="seconds to wait for each of Kafka and the registry (default %(default)s)")
    sub.add_parser("down", help="stop both (SIGTERM, then SIGKILL), remove the temporary data dir; idempotent")
    sub.add_parser("status", help="say what runs")
    for name, what in (("kill-node", "kill -9 Kafka node ID"), ("start-node", "start Kafka node ID again")):
        sub.add_parser(name, help=what).add_argument("node_id", type=int)
    sub.add_parser("stop-registry", help="kill -9 the schema registry")
    sub.add_parser("start-registry", help="start the schema registry again")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "install":
            install()
        elif args.cmd == "up":
            t0 = time.monotonic()
            stack = up(kafka_port=args.kafka_port, controller_port=args.controller_port,
                       registry_port=args.registry_port, data_dir=args.data_dir, nodes=args.nodes,
                       kafka_timeout=args.timeout, registry_timeout=args.timeout,
                       registry_storage=args.registry_storage)
            print(f"stack up in {time.monotonic() - t0:.1f}s; data in {stack.data_dir}; logs in {log_dir()}; stop with `down`")
            print(f"BOOTSTRAP_SERVERS={stack.bootstrap_servers}")
            print(f"SCHEMA_REGISTRY_URL={stack.schema_registry_url}")
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
            st = status()
            if not st["running"] and "processes" not in st:
                print("not running" + (f"; stray stack pids: {st['stray_pids']}" if st["stray_pids"] else ""))
            else:
                for p in st["processes"]:
                    print(f"{p['name']}: {'running' if p['alive'] else 'NOT running'} pid={p['pid']} "
                          f"ports={p.get('ports')} open={p['ports_open']} log={p['log']}")
                print(f"registry HTTP: {'ok' if st['registry_http_ok'] else 'not answering'}")
                print(f"BOOTSTRAP_SERVERS={st['bootstrap_servers']}")
                print(f"SCHEMA_REGISTRY_URL={st['schema_registry_url']}")
                return 0 if st["running"] else 1
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
