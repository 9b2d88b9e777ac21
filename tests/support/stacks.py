"""Local stacks for the tests, plain or secured, and what a test needs to talk to either one.

A secured stack (``sasl_ssl`` or ``mtls``) grants one pipeline at ``up``; a test on its own random
topic grants its own with ``grant``. ``producer_args`` / ``consumer_args`` give each app the stack's
client properties file, ``kafka_config`` / ``registry_access`` give the checks (read_committed
totals, the registry's subject) the super user's TLS and credentials. On a plaintext stack each of
them is empty, so one scenario runs unchanged on all three modes.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
import socket
from collections.abc import Iterator
from typing import Any

from txpipe_tools import local_stack

SECURED_MODES = ("sasl_ssl", "mtls")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_stack(run_dir, **options) -> Iterator[Any]:
    """A local stack for the length of the block, stopped whatever happens; ``handle.run_dir`` says where."""
    handle = local_stack.up(run_dir=run_dir, **options)
    handle.run_dir = run_dir  # type: ignore[attr-defined]
    try:
        yield handle
    finally:
        local_stack.down(run_dir=run_dir)


@contextlib.contextmanager
def secured_stack(run_dir, mode: str, topic: str | None = None, group: str | None = None) -> Iterator[Any]:
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


def own_pipeline(stack) -> Any:
    """A view of a shared secured stack with a pipeline of its own: a random topic and group (``topic``,
    ``group``), granted to the producer and consumer users, so modules sharing the stack never meet."""
    view = copy.copy(stack)
    view.topic, view.group = f"transactions-{secrets.token_hex(4)}", f"txpipe-{secrets.token_hex(4)}"
    local_stack.grant_pipeline(view.topic, view.group, run_dir=stack.run_dir)
    return view


def _files(stack) -> dict[str, Any] | None:
    security = getattr(stack, "security", None)
    return security["files"] if security else None


def grant(stack, topic: str, group: str) -> None:
    """On a secured stack, grants the producer and consumer users the pipeline ``topic`` / ``group``."""
    if _files(stack):
        local_stack.grant_pipeline(topic, group, run_dir=stack.run_dir)


def producer_args(stack) -> list[str]:
    """The producer's ``--client-config`` of a secured stack (librdkafka keys); nothing in plaintext."""
    files = _files(stack)
    return ["--client-config", files["producer"]] if files else []


def consumer_args(stack) -> list[str]:
    """The consumer's ``--client-config`` of a secured stack (Java keys); nothing in plaintext."""
    files = _files(stack)
    return ["--client-config", files["consumer"]] if files else []


def kafka_config(stack) -> dict[str, str] | None:
    """librdkafka settings for the tests' own checks: the super user on a secured stack (the apps'
    users may not read the totals back), None in plaintext."""
    files = _files(stack)
    if not files:
        return None
    props = local_stack.read_properties(files["librdkafka"]["admin"])
    return {k: v for k, v in props.items() if not k.startswith("schema.registry.")}


def registry_access(stack) -> dict[str, str]:
    """``ca_file`` and ``user_info`` for reading the registry of a secured stack (the consumer's
    read-only registry user); empty in plaintext."""
    files = _files(stack)
    if not files:
        return {}
    props = local_stack.read_properties(files["librdkafka"]["consumer"])
    return {"ca_file": props["schema.registry.ssl.ca.location"], "user_info": props["schema.registry.basic.auth.user.info"]}
