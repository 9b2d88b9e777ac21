"""Container tests: the images, the compose files and the apps running in containers.

Run with ``python -m pytest tests/container`` (or ``-m container`` from the root). The static
checks need only PyYAML; the end-to-end test needs a container engine (Docker, else podman:
``bash tools/container/setup-podman.sh``) and FAILS, never skips, when none works.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGES = ROOT / "tools" / "container" / "base-images.sh"
SERVICE_IMAGES = ROOT / "tools" / "container" / "service-images.sh"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
REPORT = ROOT / ".stack" / "container-images.json"
PRODUCER_IMAGE = "kafka-producer:v1.0"
CONSUMER_IMAGE = "kafka-consumer:v1.0"


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "container: builds the Docker images / checks the compose files (needs podman or Docker for the end-to-end test)",
    )


@pytest.fixture(scope="session")
def engine() -> str:
    """docker when a Docker engine answers, else podman; a failure (not a skip) when neither works."""
    if shutil.which("docker"):
        try:
            if _run(["docker", "info"], timeout=30).returncode == 0:
                return "docker"
        except subprocess.TimeoutExpired:
            pass
    podman = shutil.which("podman")
    if not podman:
        pytest.fail(
            "no container engine: no Docker engine answers `docker info` and podman is not installed; "
            "run `bash tools/container/setup-podman.sh` (installs and configures podman)"
        )
    info = _run([podman, "info"], timeout=60)
    if info.returncode != 0:
        pytest.fail(
            f"podman is installed but does not work (`podman info` failed): {info.stderr.strip()[-2000:]}\n"
            "run `bash tools/container/setup-podman.sh`"
        )
    return "podman"


@pytest.fixture(scope="session")
def base_images(engine) -> dict:
    """--build-arg flags for the stand-in base images (built or loaded from cache), unless upstream is asked for."""
    if os.environ.get("TXPIPE_CONTAINER_BASE") == "upstream":
        return {"args": [], "seconds": 0.0}
    env = {**os.environ, "ENGINE": engine}
    t0 = time.monotonic()
    result = _run(["bash", str(BASE_IMAGES)], timeout=1800, env=env)
    assert result.returncode == 0, f"base-images.sh failed:\n{result.stderr[-4000:]}"
    seconds = round(time.monotonic() - t0, 1)
    print(f"stand-in base images ready in {seconds}s: {result.stdout.split()}")
    printed = _run(["bash", str(BASE_IMAGES), "--print-build-args"], timeout=60, env=env)
    assert printed.returncode == 0, printed.stderr
    return {"args": printed.stdout.split(), "seconds": seconds}


@pytest.fixture(scope="session")
def images(engine, base_images) -> dict:
    """Both targets built; build times and image sizes printed and written to .stack/container-images.json."""
    base_image_args = base_images["args"]
    report = {"engine": engine, "base_build_args": base_image_args, "base_images_seconds": base_images["seconds"], "images": {}}
    for target, tag in (("producer", PRODUCER_IMAGE), ("consumer", CONSUMER_IMAGE)):
        cmd = [
            engine,
            "build",
            "--network",
            "host",
            "-f",
            str(DOCKERFILE),
            "--target",
            target,
            *base_image_args,
            "-t",
            tag,
            str(ROOT),
        ]
        t0 = time.monotonic()
        try:
            result = _run(cmd, 1800)
        except subprocess.TimeoutExpired:
            pytest.fail(f"building {target} took longer than 30 minutes")
        seconds = round(time.monotonic() - t0, 1)
        assert result.returncode == 0, f"building {target} failed:\n{(result.stdout + result.stderr)[-6000:]}"
        inspect = _run([engine, "image", "inspect", tag], 60)
        assert inspect.returncode == 0, inspect.stderr
        meta = json.loads(inspect.stdout)[0]
        size = int(meta.get("Size") or meta.get("VirtualSize") or 0)
        config = meta.get("Config") or {}
        report["images"][target] = {
            "tag": tag,
            "build_seconds": seconds,
            "size_bytes": size,
            "size_mb": round(size / 1e6, 1),
            "user": config.get("User"),
            "entrypoint": config.get("Entrypoint"),
            "labels": config.get("Labels") or {},
        }
        print(f"{tag}: built in {seconds}s, {size / 1e6:.1f} MB")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({**report, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2) + "\n")
    return report


@pytest.fixture(scope="session")
def service_images_env(engine, base_images) -> dict:
    """The environment for `docker compose`: the base images' build ARGs and, unless upstream is asked
    for, the stand-in KAFKA_IMAGE / REGISTRY_IMAGE (built or kept by tools/container/service-images.sh)."""
    env = {**os.environ}
    for pair in base_images["args"][1::2]:  # PYTHON_IMAGE=..., JDK_IMAGE=..., JRE_IMAGE=...
        key, value = pair.split("=", 1)
        env[key] = value
    if os.environ.get("TXPIPE_CONTAINER_BASE") != "upstream":
        t0 = time.monotonic()
        made = _run(["bash", str(SERVICE_IMAGES)], 1800, env={**env, "ENGINE": engine})
        assert made.returncode == 0, f"service-images.sh failed:\n{made.stderr[-4000:]}"
        print(f"stand-in service images ready in {time.monotonic() - t0:.1f}s: {made.stdout.split()}")
        printed = _run(["bash", str(SERVICE_IMAGES), "--print-env"], 30)
        for pair in printed.stdout.split():
            key, value = pair.split("=", 1)
            env[key] = value
    return env
