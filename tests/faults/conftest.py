"""Stacks for the fault tests: a single node (registry on file storage, so it can be killed and
started again with its schemas) and, only when a test asks for it, a three-node cluster.

Both run on free loopback ports with their own run directories and are stopped at the end.
"""

from __future__ import annotations

import secrets

import pytest

from txpipe import local_stack

from ..integration.conftest import free_port


@pytest.fixture(scope="session")
def fault_stack_run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fault-stack-run")


@pytest.fixture(scope="session")
def fault_stack(fault_stack_run_dir):
    handle = local_stack.up(
        kafka_port=free_port(), controller_port=free_port(), registry_port=free_port(),
        run_dir=fault_stack_run_dir, registry_storage="file",
    )
    handle.run_dir = fault_stack_run_dir
    try:
        yield handle
    finally:
        local_stack.down(run_dir=fault_stack_run_dir)


@pytest.fixture(scope="session")
def cluster3(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cluster3-run")
    ports = set()
    while len(ports) < 6:
        ports.add(free_port())
    ports = sorted(ports)
    handle = local_stack.up(
        nodes=3, kafka_ports=ports[:3], controller_ports=ports[3:], registry_port=free_port(),
        run_dir=run_dir, registry_storage="file",
    )
    handle.run_dir = run_dir
    try:
        yield handle
    finally:
        local_stack.down(run_dir=run_dir)


@pytest.fixture
def topic() -> str:
    return f"fault-{secrets.token_hex(4)}"
