"""Container tests: the images, the compose files and the apps running in containers.

Run with ``python -m pytest tests/container`` (or ``-m container`` from the root). The static
checks need only PyYAML; the end-to-end test needs a container engine (Docker, else podman:
``bash tools/container/setup-podman.sh``) and FAILS, never skips, when none works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGES = ROOT / "tools" / "container" / "base-images.sh"


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
