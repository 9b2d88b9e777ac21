"""The stack's processes: starting them, knowing them by PID, probing them, stopping them.

Every JVM the stack starts carries a ``-D`` tag naming its run directory, so ``down`` can prove none
of its processes is left behind (and find strays by PID) without ever matching processes by a broad
name. What runs is recorded in ``<run dir>/state.json``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from txpipe_tools.local_stack.base import StackError, log

STOP_TIMEOUT_S = 30.0
TAG_PROPERTY = "txpipe.local_stack"


def tag(run_dir: Path) -> str:
    """The JVM argument that marks a process as belonging to the stack in ``run_dir``."""
    return f"-D{TAG_PROPERTY}={run_dir}"


# --------------------------------------------------------------------------------------------
# state.json


def state_file(run_dir: Path) -> Path:
    return run_dir / "state.json"


def read_state(run_dir: Path) -> dict[str, Any] | None:
    """The recorded state, or None when there is none (or it cannot be read)."""
    try:
        state: dict[str, Any] = json.loads(state_file(run_dir).read_text())
        return state
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log(f"ignoring unreadable {state_file(run_dir)}: {e}")
        return None


def write_state(state: dict[str, Any], run_dir: Path) -> None:
    """Replaces state.json at once (write then rename), so a reader never sees half of it."""
    path = state_file(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# PIDs


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie does not count); reaps it if it is our own child."""
    try:
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


def is_ours(pid: int, run_dir: Path) -> bool:
    """True when ``pid``'s command line carries the tag of the stack in ``run_dir``."""
    return tag(run_dir) in _cmdline(pid)


def tagged_pids(run_dir: Path) -> list[int]:
    """PIDs of live processes carrying this stack's tag (exact argument match)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and is_ours(int(entry), run_dir) and pid_alive(int(entry)):
            pids.append(int(entry))
    return pids


def running(state: dict[str, Any] | None, run_dir: Path) -> list[dict[str, Any]]:
    """The recorded processes that are alive and still ours."""
    if not state:
        return []
    return [p for p in state.get("processes", []) if pid_alive(p["pid"]) and is_ours(p["pid"], run_dir)]


# --------------------------------------------------------------------------------------------
# start and stop


def start(name: str, cmd: list[str], log_path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Starts ``cmd`` in its own session (so its process group can be signalled), output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:  # rotate_log() gave each `up` a fresh file
        out.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}: {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=str(cwd), start_new_session=True
        )
    log(f"{name}: started pid {proc.pid}, log {log_path}")
    return proc


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # pgid == pid: started with start_new_session=True
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_pid(pid: int, name: str, run_dir: Path, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group we created (start_new_session), wait, then SIGKILL."""
    stop_pids([(pid, name)], run_dir, timeout)


def stop_pids(procs: list[tuple[int, str]], run_dir: Path, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM each (pid, name) at once, wait for all, then SIGKILL whichever still runs.

    At once matters for KRaft nodes: a broker's controlled shutdown needs the controller quorum, so
    nodes stopped one after another leave the last one without a quorum, waiting until it is killed.
    """
    waiting: dict[int, str] = {}
    for pid, name in procs:
        if not pid_alive(pid):
            continue
        if not is_ours(pid, run_dir):
            log(f"{name}: pid {pid} is alive but is not a process of this stack; leaving it alone")
            continue
        _signal_group(pid, signal.SIGTERM)
        waiting[pid] = name
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for pid in [p for p in waiting if not pid_alive(p)]:
            log(f"{waiting.pop(pid)}: stopped (pid {pid})")
        time.sleep(0.2)
    for pid, name in waiting.items():
        log(f"{name}: pid {pid} did not stop within {timeout:.0f}s of SIGTERM; sending SIGKILL")
        _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in waiting):
        time.sleep(0.1)
    alive = [f"{name} (pid {pid})" for pid, name in waiting.items() if pid_alive(pid)]
    if alive:
        raise StackError(f"still alive after SIGKILL: {', '.join(alive)}")


def sigkill(entry: dict[str, Any], run_dir: Path) -> int | None:
    """kill -9 the recorded PID (its own process group) if it is alive and ours; returns it."""
    pid: int = entry["pid"]
    if not pid_alive(pid):
        return None
    if not is_ours(pid, run_dir):
        raise StackError(f"{entry['name']}: pid {pid} is not a process of this stack; not killing it")
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(pid):
        if time.monotonic() > deadline:
            raise StackError(f"{entry['name']}: pid {pid} still alive 10s after SIGKILL")
        time.sleep(0.05)
    return pid


# --------------------------------------------------------------------------------------------
# logs


def rotate_log(path: Path) -> None:
    """Keep the previous run's log as <name>.1; start this run's log empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_name(path.name + ".1"))


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log, for error messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# probes


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def http_status(url: str, timeout: float = 3.0) -> int:
    """The HTTP status of a GET, or 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            status: int = r.status
            return status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0
