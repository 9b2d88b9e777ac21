"""A real JVM records the consumer's class archive at exit, and a second JVM maps it."""

import shutil
import subprocess
from pathlib import Path

from txpipe_tools.class_archive import ClassArchive, archive_for, usable
from txpipe_tools.consumer_runner import DEFAULT_JAR, JVM_FLAGS, java_command


def test_the_consumer_jvm_records_then_maps_its_class_archive(tmp_path: Path) -> None:
    assert DEFAULT_JAR.is_file(), "the consumer jar is needed: make consumer-jar"
    # A copy, so that this small archive (the classes --help loads) never stands in for the real one.
    jar = tmp_path / DEFAULT_JAR.name
    shutil.copy2(DEFAULT_JAR, jar)
    jar.touch()

    recording = ClassArchive(jar)
    first = subprocess.run(
        [java_command(), *JVM_FLAGS, *recording.flags, "-jar", str(jar), "--help"], capture_output=True, text=True, timeout=120
    )
    recording.settle(first.returncode)
    assert first.returncode == 0, first.stderr
    assert usable(jar), f"no archive at {archive_for(jar)}: {first.stderr}"

    mapping = ClassArchive(jar)
    assert mapping.recording is None
    # -Xshare:on makes the JVM fail, instead of warn, when it cannot map the archive.
    second = subprocess.run(
        [java_command(), *JVM_FLAGS, *mapping.flags, "-Xshare:on", "-jar", str(jar), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout and "--bootstrap-servers" in second.stdout
