"""Finding a java executable of a given major version: Kafka needs 17+, the registry 21+."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from txpipe_tools.local_stack.base import StackError


def java_major(java: str) -> int:
    """The major version ``java -version`` reports (8 for 1.8), or 0 when it cannot be run."""
    try:
        out = subprocess.run([java, "-version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30).stdout
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
    seen: set[str] = set()
    unique: list[str] = []
    for c in cands:
        if c not in seen and os.access(c, os.X_OK):
            seen.add(c)
            unique.append(c)
    return unique


def find_java(min_major: int, prefer_env: str | None = None) -> str:
    """A java executable of at least ``min_major``.

    Kafka takes the first one (JAVA_HOME, PATH); the registry, which needs 21+, may need the
    newest under /usr/lib/jvm.
    """
    cands = _java_candidates()
    if prefer_env and os.environ.get(prefer_env):
        cands.insert(0, str(Path(os.environ[prefer_env]) / "bin" / "java"))
    versions = []
    for c in cands:  # lazily: each probe starts a JVM
        v = java_major(c)
        versions.append((c, v))
        if v >= min_major:
            return c
    raise StackError(f"no Java {min_major}+ found (looked at: {versions}); set TXPIPE_REGISTRY_JAVA_HOME")
