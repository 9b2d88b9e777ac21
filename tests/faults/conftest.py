"""Stacks for the fault tests: a single node (registry on file storage, so it can be killed and
started again with its schemas) and, only when a test asks for it, a three-node cluster.

A scenario parametrized by ``security`` runs on the session's secured stacks too (tests/conftest.py).
All run on free loopback ports with their own run directories and are stopped at the end.
"""

from __future__ import annotations

import secrets

import pytest

from tests.support.stacks import free_port, running_stack


@pytest.fixture(scope="session")
def fault_stack_run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fault-stack-run")


@pytest.fixture(scope="session")
def fault_stack(fault_stack_run_dir):
    with running_stack(
        fault_stack_run_dir,
        kafka_port=free_port(),
        controller_port=free_port(),
        registry_port=free_port(),
        registry_storage="file",
    ) as handle:
        yield handle


@pytest.fixture(scope="session")
def cluster3(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cluster3-run")
    ports = set()
    while len(ports) < 6:
        ports.add(free_port())
    ports = sorted(ports)
    with running_stack(
        run_dir,
        nodes=3,
        kafka_ports=ports[:3],
        controller_ports=ports[3:],
        registry_port=free_port(),
        registry_storage="file",
    ) as handle:
        yield handle


@pytest.fixture
def any_fault_stack(security, request):
    """The single-node fault stack, or the session's secured stack of mode ``security``."""
    return request.getfixturevalue("fault_stack" if security == "plaintext" else "secured_session_stack")


@pytest.fixture
def topic() -> str:
    return f"fault-{secrets.token_hex(4)}"
