"""Shared test set-up: make sure the generated protobuf modules exist before any import of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "wire_vectors.json"


def pytest_sessionstart(session: pytest.Session) -> None:
    # Generated code is build output; build it here so a bare `pytest` works on a fresh clone too.
    from txpipe_tools.compile_protos import compile_protos

    compile_protos()


@pytest.fixture(scope="session")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))
