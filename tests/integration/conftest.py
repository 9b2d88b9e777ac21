"""One real local stack (Kafka broker + schema registry) for the whole integration session.

It runs on free loopback ports so it never collides with a stack the developer left
running, and it is stopped at the end whatever happens. If it cannot start, the tests
fail with the reason: an integration test that cannot reach its broker is a failure,
never a skip. Secured stacks (one per mode for the session) are in tests/conftest.py.
"""

from __future__ import annotations

import secrets

import pytest

from tests.support.stacks import free_port, running_stack, secured_stack

__all__ = ["free_port", "running_stack", "secured_stack"]


@pytest.fixture(scope="session")
def stack_run_dir(tmp_path_factory):
    """State and logs of the test session's own stack, apart from any stack the developer runs."""
    return tmp_path_factory.mktemp("stack-run")


@pytest.fixture(scope="session")
def stack(stack_run_dir):
    with running_stack(stack_run_dir, kafka_port=free_port(), controller_port=free_port(), registry_port=free_port()) as handle:
        yield handle


@pytest.fixture
def any_stack(security, request):
    """The session's plain stack, or its secured stack of mode ``security``: for tests parametrized by mode."""
    return request.getfixturevalue("stack" if security == "plaintext" else "secured_session_stack")


@pytest.fixture
def topic() -> str:
    """A fresh topic name per test, so tests never see each other's records."""
    return f"it-{secrets.token_hex(4)}"
