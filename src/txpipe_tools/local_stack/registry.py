"""The schema registry: Apicurio's Quarkus distribution speaking the Confluent API on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

from txpipe_tools.local_stack.base import StackError
from txpipe_tools.local_stack.fetch import REGISTRY_APP
from txpipe_tools.local_stack.processes import http_status, pid_alive, tag, tail

REGISTRY_TIMEOUT_S = 120.0
STORAGES = ("memory", "file")


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def confluent_url(port: int) -> str:
    """The base URL Confluent clients take."""
    return f"{base_url(port)}/apis/ccompat/v7"


def registry_command(java: str, run_dir: Path, port: int, reg_dir: Path, storage: str) -> list[str]:
    """The registry JVM; ``storage`` "file" keeps its H2 database in ``reg_dir`` across restarts."""
    return [
        java,
        "-Xms128m",
        "-Xmx512m",
        tag(run_dir),
        "-Dquarkus.http.host=127.0.0.1",
        f"-Dquarkus.http.port={port}",
        # Quarkus' management interface (health/metrics) defaults to 0.0.0.0:9000: keep it on
        # loopback, on a free ephemeral port, so it never clashes.
        "-Dquarkus.management.host=127.0.0.1",
        "-Dquarkus.management.port=0",
        f"-Dapicurio.storage.snapshot.location={reg_dir}",
        *([f"-Dapicurio.datasource.url=jdbc:h2:file:{reg_dir / 'registry-db'}"] if storage == "file" else []),
        f"-Djava.io.tmpdir={reg_dir}",
        "-jar",
        str(REGISTRY_APP / "quarkus-run.jar"),
    ]


def wait_registry(url: str, proc_pid: int, log_path: Path, timeout: float) -> None:
    """Returns once GET ``url`` answers 200; raises StackError with the log's tail."""
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        status = http_status(url)
        if status == 200:
            return
        if not pid_alive(proc_pid):
            break
        time.sleep(0.3)
    reason = "the process exited" if not pid_alive(proc_pid) else f"no 200 after {timeout:.0f}s (last {status})"
    raise StackError(f"schema registry (GET {url}) did not come up: {reason}\n--- tail of {log_path} ---\n{tail(log_path)}")
