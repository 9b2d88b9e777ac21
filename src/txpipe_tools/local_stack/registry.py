"""The schema registry: Apicurio's Quarkus distribution speaking the Confluent API on 127.0.0.1."""

from __future__ import annotations

import base64
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

from txpipe_tools.local_stack.base import StackError
from txpipe_tools.local_stack.fetch import REGISTRY_APP
from txpipe_tools.local_stack.processes import http_status, pid_alive, tag, tail

REGISTRY_TIMEOUT_S = 120.0
STORAGES = ("memory", "file")


def base_url(port: int, tls: bool = False) -> str:
    return f"{'https' if tls else 'http'}://127.0.0.1:{port}"


def confluent_url(port: int, tls: bool = False) -> str:
    """The base URL Confluent clients take."""
    return f"{base_url(port, tls)}/apis/ccompat/v7"


def registry_command(
    java: str, run_dir: Path, port: int, reg_dir: Path, storage: str, security_flags: list[str] | None = None
) -> list[str]:
    """The registry JVM; ``storage`` "file" keeps its H2 database in ``reg_dir`` across restarts;
    ``security_flags`` (security.registry_properties) put it on HTTPS behind basic auth. Its users and
    passwords are never flags: Quarkus reads them from config/application.properties in ``reg_dir``."""
    port_flags = security_flags or [f"-Dquarkus.http.port={port}"]
    return [
        java,
        "-Xms128m",
        "-Xmx512m",
        tag(run_dir),
        "-Dquarkus.http.host=127.0.0.1",
        *port_flags,
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


def probe(url: str, ca_file: str | None = None, user_info: str | None = None, timeout: float = 3.0) -> int:
    """The HTTP status of a GET (0 when nothing answered), over TLS trusting ``ca_file`` and with
    basic auth ``user:password`` when given."""
    if not ca_file and not user_info:
        return http_status(url, timeout)
    req = urllib.request.Request(url)
    if user_info:
        req.add_header("Authorization", "Basic " + base64.b64encode(user_info.encode()).decode())
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            status: int = r.status
            return status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


def wait_registry(
    url: str, proc_pid: int, log_path: Path, timeout: float, ca_file: str | None = None, user_info: str | None = None
) -> None:
    """Returns once GET ``url`` answers 200; raises StackError with the log's tail."""
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        status = probe(url, ca_file, user_info)
        if status == 200:
            return
        if not pid_alive(proc_pid):
            break
        time.sleep(0.3)
    reason = "the process exited" if not pid_alive(proc_pid) else f"no 200 after {timeout:.0f}s (last {status})"
    raise StackError(f"schema registry (GET {url}) did not come up: {reason}\n--- tail of {log_path} ---\n{tail(log_path)}")
