"""Shared test set-up: the generated protobuf modules exist before any import of them, and the
secured stacks that scenarios run on besides the plain one (one per mode for the whole session)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.stacks import SECURED_MODES, secured_stack

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "wire_vectors.json"


def pytest_sessionstart(session: pytest.Session) -> None:
    # Generated code is build output; build it here so a bare `pytest` works on a fresh clone too.
    from txpipe_tools.compile_protos import compile_protos

    compile_protos()


@pytest.fixture(scope="session", params=["plaintext", *SECURED_MODES])
def security(request) -> str:
    """The security mode a scenario runs in. Session-scoped so pytest groups the tests of each mode
    across modules and keeps one secured stack at a time; a module picks its modes with
    ``@pytest.mark.parametrize("security", [...], indirect=True)``."""
    return str(request.param)


@pytest.fixture(scope="session")
def secured_session_stack(security, tmp_path_factory):
    """The session's secured stack of mode ``security`` (not for plaintext: each suite has its own plain stack)."""
    if security not in SECURED_MODES:
        raise RuntimeError(f"secured_session_stack asked for in mode {security!r}")
    with secured_stack(tmp_path_factory.mktemp(f"secured-{security}"), security) as handle:
        yield handle


@pytest.fixture(scope="session")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))
