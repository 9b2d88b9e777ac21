"""Container tests: the images, the compose files and the apps running in containers.

Run with ``python -m pytest tests/container`` (or ``-m container`` from the root). The static
checks need only PyYAML; the end-to-end test needs a container engine (Docker, else podman:
``bash tools/container/setup-podman.sh``) and FAILS, never skips, when none works.
"""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "container: builds the Docker images / checks the compose files (needs podman or Docker for the end-to-end test)",
    )
