"""The consumer JVM's class-data archive (AppCDS): written when a consumer exits cleanly, mapped after.

Loading the consumer's classes is most of its start-up; mapped from an archive they load faster
(measurements: docs/operations.md). JDK 17 writes such an archive at the exit of a JVM
started with ``-XX:ArchiveClassesAtExit``, and a JVM started with ``-XX:SharedArchiveFile`` maps it
when it matches the JDK and the jar, and otherwise warns (on stderr, see
``docker/consumer.jvm-options``) and loads the classes as usual.

The archive sits next to the jar (``scala/target/txpipe-consumer.jsa``), so ``make clean`` and a
rebuilt jar retire it. Each recording JVM writes its own temporary file, which replaces the
archive only after a clean exit: consumers started side by side never see a half-written one.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

# What a JVM that recorded an archive exits with: 0 from a run that ended, 143 after SIGTERM.
CLEAN_EXITS = (0, 143)


def archive_for(jar: Path) -> Path:
    """Where the archive for ``jar`` lives: beside it, with the suffix .jsa."""
    return jar.with_suffix(".jsa")


def usable(jar: Path) -> bool:
    """True when an archive exists and was written after the jar was built."""
    archive = archive_for(jar)
    try:
        return archive.stat().st_mtime >= jar.stat().st_mtime and archive.stat().st_size > 0
    except FileNotFoundError:
        return False


def mapping_flags(jar: Path) -> list[str]:
    """The flag that maps the archive of ``jar``, or none when there is no usable archive."""
    return [f"-XX:SharedArchiveFile={archive_for(jar)}"] if usable(jar) else []


class ClassArchive:
    """The archive flags for one JVM: map the archive, or record one; ``settle`` once the JVM has exited."""

    def __init__(self, jar: Path) -> None:
        self.archive = archive_for(jar)
        self.recording: Path | None = None
        self.flags = mapping_flags(jar)
        if not self.flags:
            self.recording = self.archive.with_name(f"{self.archive.name}.{uuid.uuid4().hex[:12]}.tmp")
            self.flags = [f"-XX:ArchiveClassesAtExit={self.recording}"]

    def settle(self, returncode: int | None) -> None:
        """Installs the recorded archive if the JVM exited cleanly; otherwise drops what it left."""
        if self.recording is None:
            return
        try:
            if returncode in CLEAN_EXITS and self.recording.stat().st_size > 0:
                os.replace(self.recording, self.archive)
            else:
                self.recording.unlink()
        except FileNotFoundError:
            pass
        self.recording = None
