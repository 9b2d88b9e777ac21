"""Runs the Scala consumer (the fat jar) as a child process and reads its totals.

The consumer prints one ``(account_number, total)`` line per transaction on stdout
and everything else on stderr. The demo and the tests start it through this module,
watch the lines as they arrive and wait, with a bound, for the totals they expect.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from txpipe_tools.class_archive import ClassArchive

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_JAR = ROOT / "scala" / "target" / "txpipe-consumer.jar"
LINE = re.compile(r"^\((?P<account>.*), (?P<total>-?\d+\.\d+)\)$")
_instance_numbers = itertools.count(1)


class ConsumerError(RuntimeError):
    """The consumer did not start, died, or did not reach the expected totals in time."""


def java_command() -> str:
    """The java binary: $JAVA_HOME/bin/java, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ConsumerError("no java on PATH and JAVA_HOME is not set; the consumer needs a JDK or JRE 17+")
    return found


JVM_OPTIONS_FILE = ROOT / "docker" / "consumer.jvm-options"


def read_jvm_options(path: Path = JVM_OPTIONS_FILE) -> tuple[str, ...]:
    """The options of a java @argfile written one per line, as the java launcher reads them.

    Blank lines and ``#`` comments are skipped. The launcher also splits a line at spaces and
    understands quotes; an options file that needs either is refused here, so what this returns
    is always exactly what ``java @path`` gets.
    """
    options = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words = line.split()
        for i, word in enumerate(words):
            if word.startswith("#"):
                words = words[:i]
                break
        if not words:
            continue
        if len(words) > 1 or any(q in words[0] for q in "\"'"):
            raise ValueError(f"{path}:{number}: one option per line, without spaces or quotes: {line.strip()!r}")
        options.append(words[0])
    return tuple(options)


# The consumer's JVM options: docker/consumer.jvm-options, the file the image passes to java too.
JVM_FLAGS = read_jvm_options()


def consumer_command(
    jar: Path,
    bootstrap: str,
    registry: str,
    topic: str,
    group: str,
    *,
    java: str | None = None,
    jvm_flags: Sequence[str] = JVM_FLAGS,
    archive_flags: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """The consumer's command line: java, the options file's flags, the class-archive flags, then the app's own."""
    app = ["-b", bootstrap, "-s", registry, "-t", topic, "-g", group, *extra]
    return [java or java_command(), *jvm_flags, *archive_flags, "-jar", str(jar), *app]


class ConsumerProcess:
    """One consumer instance; ``last`` maps each account to the last total it logged."""

    def __init__(
        self,
        bootstrap: str,
        registry: str,
        topic: str,
        group: str,
        *,
        jar: Path = DEFAULT_JAR,
        extra_args: list[str] | None = None,
        log_dir: Path | None = None,
        echo: Callable[[str], None] | None = None,
        jvm_flags: Sequence[str] = JVM_FLAGS,
        class_archive: bool = True,
    ) -> None:
        if not jar.is_file():
            raise ConsumerError(f"consumer jar not found at {jar}: build it with `make consumer-jar`")
        self.archive = ClassArchive(jar) if class_archive else None
        self.command = consumer_command(
            jar,
            bootstrap,
            registry,
            topic,
            group,
            jvm_flags=jvm_flags,
            archive_flags=self.archive.flags if self.archive else (),
            extra=extra_args or (),
        )
        self.log_dir = log_dir
        self.echo = echo
        self.last: dict[str, str] = {}
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None
        self._stderr_file: TextIO | None = None
        self._reader: threading.Thread | None = None
        self.log_path: Path | None = None

    @property
    def pid(self) -> int | None:
        """The child's PID once started."""
        return self._proc.pid if self._proc else None

    def start(self) -> ConsumerProcess:
        """Starts the JVM; stdout is parsed, stderr goes to a log file (or ours)."""
        stderr = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            # Unique per instance: tests start several in the same second.
            self.log_path = self.log_dir / f"consumer-{time.strftime('%H%M%S')}-{os.getpid()}-{next(_instance_numbers)}.log"
            self._stderr_file = open(self.log_path, "w")
            stderr = self._stderr_file
        self._proc = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1, start_new_session=True
        )
        self._reader = threading.Thread(target=self._read, name="consumer-stdout", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.rstrip("\n")
            match = LINE.match(line)
            with self._changed:
                self.lines.append(line)
                if match:
                    self.last[match["account"]] = match["total"]
                self._changed.notify_all()
            if self.echo is not None:
                self.echo(line)
        with self._changed:
            self._changed.notify_all()

    def alive(self) -> bool:
        """True while the JVM runs."""
        return self._proc is not None and self._proc.poll() is None

    def wait_for_totals(self, expected: dict[str, str], timeout: float) -> None:
        """Blocks until every account's last logged total equals ``expected``, or raises saying which did not."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if all(self.last.get(acc) == total for acc, total in expected.items()):
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.alive():
                    wrong = {a: (t, self.last.get(a)) for a, t in expected.items() if self.last.get(a) != t}
                    sample = dict(list(wrong.items())[:5])
                    state = "still running" if self.alive() else f"exited with {self._proc.returncode if self._proc else '?'}"
                    raise ConsumerError(
                        f"consumer ({state}) did not log the expected totals within {timeout:.0f}s: "
                        f"{len(wrong)} of {len(expected)} accounts differ, e.g. (expected, logged) {sample}; "
                        f"{len(self.lines)} lines read"
                    )
                self._changed.wait(min(remaining, 1.0))

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (the consumer closes Streams cleanly), then SIGKILL of its own PID if it hangs."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"consumer pid {self._proc.pid} ignored SIGTERM for {timeout}s; killing it", file=sys.stderr)
                self._proc.kill()
                self._proc.wait(10)
        self._release()
        return self._proc.returncode

    def kill(self) -> None:
        """SIGKILL, for crash tests."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)
        self._release()

    def _release(self) -> None:
        """After the JVM is gone: keep the class archive it recorded, let the reader drain its stdout, close the stderr log."""
        if self.archive is not None and self._proc is not None:
            self.archive.settle(self._proc.returncode)
        if self._reader is not None:
            self._reader.join(10)
        if self._stderr_file is not None:
            self._stderr_file.close()

    def line_count(self) -> int:
        """How many stdout lines were read so far."""
        with self._changed:
            return len(self.lines)

    def stderr_text(self) -> str:
        """What the consumer logged on stderr so far (when started with a log_dir)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        if self._stderr_file is not None and not self._stderr_file.closed:
            self._stderr_file.flush()
        return self.log_path.read_text(errors="replace")
