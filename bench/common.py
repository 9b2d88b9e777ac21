"""Processes, memory sampling, machine facts: the plumbing every benchmark step shares."""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
KAFKA_LIBS = ROOT / ".stack" / "kafka" / "libs"
CONSUMER_JAR = ROOT / "scala" / "target" / "txpipe-consumer.jar"
MIB = 1024 * 1024


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Prefix of every topic, group and transactional id the bench makes (topics bench-<step>-..., groups
# bench-<name>-...; EndToEndLatency's consumer group is test-group-<ms>).
BENCH_PREFIXES = {"TOPIC": ("bench-",), "GROUP": ("bench-", "test-group-"), "TRANSACTIONAL_ID": ("bench-",)}


@dataclass
class Security:
    """The client properties files of the stack the bench runs on (``files`` of local_stack.security_files),
    None in plaintext: every client of the bench gets the one of its role and format."""

    mode: str = "plaintext"
    files: dict | None = None

    def producer_flags(self) -> list[str]:
        """Our producer's (and bench.latency_producer's) --client-config: the stack's producer.properties."""
        return ["--client-config", self.files["producer"]] if self.files else []

    def consumer_flags(self) -> list[str]:
        """Our consumer's --client-config: the stack's consumer.properties."""
        return ["--client-config", self.files["consumer"]] if self.files else []

    def java_file(self, role: str) -> str | None:
        """Java client keys of ``role`` (producer or consumer) for Kafka's perf tools' --command-config."""
        return self.files["java"][role] if self.files else None

    def librdkafka(self) -> dict[str, str]:
        """librdkafka keys for the bench's own admin clients (the producer's user: it may create bench topics)."""
        if not self.files:
            return {}
        from txpipe_tools import local_stack

        props = local_stack.read_properties(self.files["librdkafka"]["producer"])
        return {k: v for k, v in props.items() if not k.startswith("schema.registry.")}


# Set by stack_for; plaintext unless the bench started a secured stack.
SECURITY = Security()


def bench_grants() -> list:
    """What the apps' users may do on the bench's own names, beside the stack's one pipeline: everything
    on topics, groups and transactional ids with the bench's prefixes (the steps make a new topic and
    group per run), idempotent writes and broker configs (Kafka Streams)."""
    from txpipe_tools.local_stack.acls import Grant
    from txpipe_tools.local_stack.security import CONSUMER_USER, PRODUCER_USER

    grants = [
        Grant(user, resource, prefix, "PREFIXED", ("ALL",))
        for user in (PRODUCER_USER, CONSUMER_USER)
        for resource, prefixes in BENCH_PREFIXES.items()
        for prefix in prefixes
    ]
    grants += [
        Grant(user, "CLUSTER", "kafka-cluster", "LITERAL", ("IDEMPOTENT_WRITE", "DESCRIBE_CONFIGS"))
        for user in (PRODUCER_USER, CONSUMER_USER)
    ]
    return grants


@contextmanager
def stack_for(
    bootstrap: str | None, registry: str | None, prefix: str, keep_logs: Path | None = None, security: str = "plaintext"
) -> Iterator[tuple[str, str]]:
    """(bootstrap, registry) to measure on: the running stack given, or a local stack of its own on
    free ports in ``security`` mode (plaintext, sasl_ssl or mtls), stopped and removed after the block
    (its logs copied to ``keep_logs`` first, if given). A secured stack's client files are in ``SECURITY``
    and its apps' users get ``bench_grants``."""
    if bootstrap:
        yield bootstrap, registry
        return
    from txpipe_tools import local_stack

    run_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        log(f"starting a local stack, security {security} (run dir {run_dir})")
        st = local_stack.up(
            kafka_port=free_port(), controller_port=free_port(), registry_port=free_port(), run_dir=run_dir, security=security
        )
        if st.security:
            from txpipe_tools.local_stack.acls import create_acls

            create_acls(bench_grants(), st.security["files"]["librdkafka"]["admin"], st.bootstrap_servers)
            SECURITY.mode, SECURITY.files = security, st.security["files"]
        yield st.bootstrap_servers, st.schema_registry_url
    finally:
        SECURITY.mode, SECURITY.files = "plaintext", None
        try:
            local_stack.down(run_dir=run_dir)
        finally:
            if keep_logs is not None and (run_dir / "logs").exists():
                shutil.copytree(run_dir / "logs", keep_logs, dirs_exist_ok=True)
            shutil.rmtree(run_dir, ignore_errors=True)


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def java() -> str:
    from txpipe_tools.consumer_runner import java_command

    return java_command()


def kafka_tool_cmd(main: str, *args: str, heap: str = "-Xmx512m") -> list[str]:
    """A Kafka tool from the kafka-tools jar the local stack installed."""
    return [java(), heap, "-cp", str(KAFKA_LIBS / "*"), f"org.apache.kafka.tools.{main}", *args]


class RssSampler(threading.Thread):
    """Polls a process's resident set size (and its children's) and keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True, name=f"rss-{pid}")
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            proc = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            try:
                rss = proc.memory_info().rss
                for child in proc.children(recursive=True):
                    try:
                        rss += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join(5)
        return self.peak


@dataclass
class Proc:
    """A child process we started (own session), with its RSS sampled from the start."""

    cmd: list[str]
    stdout_path: Path
    stderr_path: Path
    env: dict | None = None
    stdout_pipe: bool = False
    popen: subprocess.Popen = field(init=False)
    sampler: RssSampler = field(init=False)
    started: float = field(init=False)

    def start(self) -> Proc:
        self.stdout_path.parent.mkdir(parents=True, exist_ok=True)
        self._out = None if self.stdout_pipe else open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.started = time.monotonic()
        self.popen = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if self.stdout_pipe else self._out,
            stderr=self._err,
            cwd=str(ROOT),
            env=self.env,
            start_new_session=True,
        )
        self.sampler = RssSampler(self.popen.pid)
        self.sampler.start()
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait(self, timeout: float) -> int:
        """Waits for exit; on timeout stops it (our own PID group only) and raises."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise TimeoutError(
                f"{' '.join(self.cmd[:6])}... did not finish within {timeout:.0f}s; see {self.stderr_path}"
            ) from None
        finally:
            self.peak_rss = self.sampler.stop()
            self.wall = time.monotonic() - self.started
            self._close()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM to the process group we created, then SIGKILL of the same group."""
        if self.popen.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.peak_rss = self.sampler.stop()
        self._close()
        return self.popen.returncode

    def _close(self) -> None:
        for f in (self._out, self._err):
            if f is not None and not f.closed:
                f.close()

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""


def run(cmd: list[str], workdir: Path, name: str, timeout: float, env: dict | None = None) -> Proc:
    """Runs a command to completion with RSS sampling; raises if it fails or times out."""
    p = Proc(cmd, workdir / f"{name}.out", workdir / f"{name}.err", env=env).start()
    rc = p.wait(timeout)
    if rc != 0:
        tail = (p.stderr_text()[-1500:] + p.stdout_text()[-1500:]).strip()
        raise RuntimeError(f"{name} exited with {rc}: {' '.join(cmd[:8])} ...\n{tail}")
    return p


def _java_version(java_bin: str) -> str:
    out = subprocess.run([java_bin, "-version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30).stdout
    m = re.search(r'version "([^"]+)"', out)
    return m.group(1) if m else out.splitlines()[0] if out else "?"


def _fingerprint(path: Path) -> str:
    """sha256 prefix and build time of a file (the consumer jar changes as others work on it)."""
    import hashlib

    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return f"sha256 {digest}, built {time.strftime('%Y-%m-%d %H:%M', time.localtime(path.stat().st_mtime))}"
    except OSError:
        return "missing"


def _git_head() -> str:
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        return r.stdout.strip() + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_and_versions() -> dict:
    """What ran where: CPU, cores, RAM, load, and the versions of everything measured."""
    import importlib.metadata

    import confluent_kafka
    import google.protobuf
    from google.protobuf.internal import api_implementation

    from txpipe_tools import local_stack

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "os": f"{platform.system()} {platform.release()}",
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            "kafka": local_stack.KAFKA_VERSION,
            "apicurio_registry": local_stack.APICURIO_VERSION,
            "python": platform.python_version(),
            "confluent_kafka": importlib.metadata.version("confluent-kafka"),
            "librdkafka": confluent_kafka.libversion()[0],
            "protobuf": f"{google.protobuf.__version__} ({api_implementation.Type()} backend)",
            "java": _java_version(java()),
            "consumer_jar": _fingerprint(CONSUMER_JAR),
            "git_head": _git_head(),
        },
    }
