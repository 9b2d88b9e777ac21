"""The soak tests' own stack, on free loopback ports, stopped at the end."""

from __future__ import annotations

import secrets

import pytest

from tests.support.stacks import free_port, running_stack


@pytest.fixture(scope="session")
def soak_stack(tmp_path_factory):
    with running_stack(
        tmp_path_factory.mktemp("soak-stack-run"), kafka_port=free_port(), controller_port=free_port(), registry_port=free_port()
    ) as handle:
        yield handle


@pytest.fixture
def topic() -> str:
    return f"soak-{secrets.token_hex(4)}"
