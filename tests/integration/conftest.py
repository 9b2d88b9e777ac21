"""One real local stack (Kafka broker + schema registry) for the whole integration session.

It runs on free loopback ports so it never collides with a stack the developer left
running, and it is stopped at the end whatever happens. If it cannot start, the tests
fail with the reason: an integration test that cannot reach its broker is a failure,
never a skip.
"""

from __future__ import annotations

import secrets
import socket

import pytest

from txpipe import local_stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def stack_run_dir(tmp_path_factory):
    """State and logs of the test session's own stack, apart from any stack the developer runs."""
    return tmp_path_factory.mktemp("stack-run")


@pytest.fixture(scope="session")
def stack(stack_run_dir):
    handle = local_stack.up(
        kafka_port=free_port(),
        controller_port=free_port(),
        registry_port=free_port(),
        run_dir=stack_run_dir,
    )
    try:
        yield handle
    finally:
        local_stack.down(run_dir=stack_run_dir)


@pytest.fixture
def topic() -> str:
    """A fresh topic name per test, so tests never see each other's records."""
    return f"it-{secrets.token_hex(4)}"
