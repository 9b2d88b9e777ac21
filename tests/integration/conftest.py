"""One real local stack (Kafka broker + schema registry) for the whole integration session.

It runs on free loopback ports so it never collides with a stack the developer left
running, and it is stopped at the end whatever happens. If it cannot start, the tests
fail with the reason: an integration test that cannot reach its broker is a failure,
never a skip.
"""

from __future__ import annotations

import contextlib
import secrets
import socket

import pytest

from txpipe_tools import local_stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def stack_run_dir(tmp_path_factory):
    """State and logs of the test session's own stack, apart from any stack the developer runs."""
    return tmp_path_factory.mktemp("stack-run")


@contextlib.contextmanager
def running_stack(run_dir, **options):
    """A local stack for the length of the block, stopped whatever happens; ``handle.run_dir`` says where."""
    handle = local_stack.up(run_dir=run_dir, **options)
    handle.run_dir = run_dir
    try:
        yield handle
    finally:
        local_stack.down(run_dir=run_dir)


@contextlib.contextmanager
def secured_stack(run_dir, mode: str, topic: str | None = None, group: str | None = None):
    """A secured local stack (``sasl_ssl`` or ``mtls``) on free ports for the block; the handle also
    carries ``mode``, ``topic`` and ``group`` (the pipeline the stack granted, random when not given)
    and ``files``, where its client configs are."""
    topic = topic or f"transactions-{secrets.token_hex(4)}"
    group = group or f"txpipe-{secrets.token_hex(4)}"
    with running_stack(
        run_dir,
        kafka_port=free_port(),
        controller_port=free_port(),
        registry_port=free_port(),
        security=mode,
        topic=topic,
        group=group,
    ) as handle:
        handle.mode, handle.topic, handle.group = mode, topic, group
        handle.files = local_stack.security_files(run_dir)
        yield handle


@pytest.fixture(scope="session")
def stack(stack_run_dir):
    with running_stack(stack_run_dir, kafka_port=free_port(), controller_port=free_port(), registry_port=free_port()) as handle:
        yield handle


@pytest.fixture
def topic() -> str:
    """A fresh topic name per test, so tests never see each other's records."""
    return f"it-{secrets.token_hex(4)}"
