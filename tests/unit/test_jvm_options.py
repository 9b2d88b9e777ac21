"""The consumer's JVM options live in one file, docker/consumer.jvm-options, that every launcher of it reads."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bench import ours
from txpipe_tools import consumer_runner
from txpipe_tools.consumer_runner import JVM_OPTIONS_FILE, ConsumerProcess, read_jvm_options

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def options_in_file() -> list[str]:
    """The file read here on its own, line by line: every line that is not blank or a comment is one option."""
    lines = [line.split(" #", 1)[0].strip() for line in JVM_OPTIONS_FILE.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture
def no_java_lookup(monkeypatch):
    monkeypatch.setattr(consumer_runner, "java_command", lambda: "java")


def test_the_file_holds_the_options_the_consumer_needs():
    options = options_in_file()
    assert options == list(read_jvm_options())
    assert all(o.startswith("-") for o in options), options
    assert len(set(options)) == len(options), "an option written twice"
    for needed in ("-Xms160m", "-Xmx160m", "-XX:+ExitOnOutOfMemoryError", "-Xlog:all=warning:stderr"):
        assert needed in options


def test_the_runner_starts_the_jvm_with_exactly_the_file(no_java_lookup, tmp_path):
    jar = tmp_path / "consumer.jar"
    jar.write_bytes(b"jar")
    options = options_in_file()
    command = ConsumerProcess("b:9092", "http://r", "t", "g", jar=jar, class_archive=False).command
    assert command[: len(options) + 3] == ["java", *options, "-jar", str(jar)]
    # With the class archive, its one flag comes after the file's options.
    command = ConsumerProcess("b:9092", "http://r", "t", "g", jar=jar).command
    assert command[1 : len(options) + 1] == options
    assert command[len(options) + 1].startswith("-XX:ArchiveClassesAtExit=")


def test_the_bench_starts_the_jvm_with_exactly_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(ours, "java", lambda: "java")
    jar = tmp_path / "consumer.jar"
    jar.write_bytes(b"jar")
    options = options_in_file()
    command = ours.consumer_command("b:9092", "http://r", "t", "g", tmp_path / "state", "exactly_once_v2", jar=jar)
    assert command[: len(options) + 3] == ["java", *options, "-jar", str(jar)]


def test_the_image_runs_java_with_the_file():
    text = DOCKERFILE.read_text(encoding="utf-8")
    consumer = text[text.index("AS consumer") :]
    assert "COPY docker/consumer.jvm-options /app/consumer.jvm-options" in consumer
    assert 'ENTRYPOINT ["java", "@/app/consumer.jvm-options", "-jar", "/app/txpipe-consumer.jar"]' in consumer
    code = "\n".join(line for line in consumer.splitlines() if not line.lstrip().startswith("#"))
    for option in options_in_file():
        assert option not in code, f"{option} is written in the Dockerfile too"


def test_java_reads_the_file_as_this_module_does():
    """The java launcher accepts the file (an unknown or misspelt option fails) and applies its heap."""
    result = subprocess.run(
        [consumer_runner.java_command(), f"@{JVM_OPTIONS_FILE}", "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"\bMaxHeapSize\s+= 167772160\b", result.stdout)
    assert re.search(r"\bExitOnOutOfMemoryError\s+= true\b", result.stdout)


@pytest.mark.parametrize("line", ["-Xmx1g -Xms1g", '"-Dname=a b"', "-Dx='y'"])
def test_an_options_file_the_launcher_would_split_or_unquote_is_refused(tmp_path, line):
    path = tmp_path / "options"
    path.write_text(f"# header\n{line}\n")
    with pytest.raises(ValueError, match="one option per line"):
        read_jvm_options(path)


def test_comments_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "options"
    path.write_text("# a comment\n\n-Xmx1g   # why\n  -XX:+UseSerialGC\n")
    assert read_jvm_options(path) == ("-Xmx1g", "-XX:+UseSerialGC")
