"""Fetching Kafka's jars and the schema registry's distribution with Maven into .stack/."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from txpipe_tools.local_stack.base import REPO_ROOT, STACK_DIR, StackError, log

KAFKA_VERSION = "4.2.2"
APICURIO_VERSION = "3.3.3"

KAFKA_POM = REPO_ROOT / "local_stack" / "kafka" / "pom.xml"
KAFKA_LOG4J2 = REPO_ROOT / "local_stack" / "kafka" / "log4j2.properties"
REGISTRY_POM = REPO_ROOT / "local_stack" / "registry" / "pom.xml"

KAFKA_LIBS = STACK_DIR / "kafka" / "libs"
REGISTRY_APP = STACK_DIR / "registry" / "app"

KAFKA_MARKER = KAFKA_LIBS / f".installed-kafka-{KAFKA_VERSION}"
REGISTRY_MARKER = REGISTRY_APP / f".installed-apicurio-{APICURIO_VERSION}"


def _run_maven(args: list[str], java_home: str | None = None) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError("Maven (mvn) is not on PATH; it is needed to fetch the Kafka and registry jars")
    env = dict(os.environ)
    if java_home:
        env["JAVA_HOME"] = java_home
    cmd = [mvn, "-q", "-B", *args]
    log("running: " + " ".join(cmd))
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
    return _install_into(
        KAFKA_LIBS,
        KAFKA_MARKER,
        f"kafka_2.13-{KAFKA_VERSION}.jar",
        KAFKA_VERSION,
        ["-f", str(KAFKA_POM), "dependency:copy-dependencies", "-DoutputDirectory={dir}"],
    )


def _install_registry() -> bool:
    return _install_into(
        REGISTRY_APP,
        REGISTRY_MARKER,
        "quarkus-run.jar",
        APICURIO_VERSION,
        ["-f", str(REGISTRY_POM), "dependency:unpack", "-Dregistry.dir={dir}"],
    )


def install() -> None:
    """Fetch what is missing into .stack/ (fast no-op when already there)."""
    t0 = time.monotonic()
    did_kafka = _install_kafka()
    did_registry = _install_registry()
    log(
        f"install: kafka {KAFKA_VERSION} {'fetched' if did_kafka else 'present'}, "
        f"apicurio {APICURIO_VERSION} {'fetched' if did_registry else 'present'} "
        f"({time.monotonic() - t0:.1f}s)"
    )
