"""The local stack (txpipe_tools.local_stack) comes up, answers like Kafka and a Confluent registry,
and goes down leaving nothing."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
import uuid
from pathlib import Path

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from txpipe_tools import local_stack

from .conftest import free_port

pytestmark = pytest.mark.integration


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        return json.loads(r.read())


def test_urls_are_loopback(stack):
    assert stack.bootstrap_servers.startswith("127.0.0.1:")
    assert stack.schema_registry_url.startswith("http://127.0.0.1:")
    assert stack.schema_registry_url.endswith("/apis/ccompat/v7")


def test_kafka_port_answers(stack):
    host, port = stack.bootstrap_servers.split(",")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5):
        pass


def test_registry_answers_confluent_api(stack):
    assert isinstance(_get_json(stack.schema_registry_url + "/subjects"), list)
    assert "compatibilityLevel" in _get_json(stack.schema_registry_url + "/config")


def test_status_reports_running(stack, stack_run_dir):
    st = local_stack.status(run_dir=stack_run_dir)
    assert st["running"] and st["registry_http_ok"]
    assert st["bootstrap_servers"] == stack.bootstrap_servers


def test_second_up_on_the_same_run_dir_is_refused(stack, stack_run_dir):
    with pytest.raises(local_stack.StackError, match="already running"):
        local_stack.up(kafka_port=free_port(), controller_port=free_port(), registry_port=free_port(), run_dir=stack_run_dir)


def test_transactional_produce_and_read_committed(stack):
    bs = stack.bootstrap_servers
    topic = "local-stack-test-" + uuid.uuid4().hex[:8]
    admin = AdminClient({"bootstrap.servers": bs})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)

    p = ck.Producer({"bootstrap.servers": bs, "transactional.id": "local-stack-test-" + uuid.uuid4().hex})
    p.init_transactions(60)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, value=b"committed-%d" % i)
    p.commit_transaction(30)
    p.begin_transaction()
    p.produce(topic, value=b"aborted")
    p.flush(10)
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce(topic, value=b"last")
    p.commit_transaction(30)

    c = ck.Consumer(
        {
            "bootstrap.servers": bs,
            "group.id": "g-" + uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    c.subscribe([topic])
    got, deadline = [], time.monotonic() + 60
    try:
        while time.monotonic() < deadline and b"last" not in got:
            m = c.poll(1.0)
            if m is not None and not m.error():
                got.append(m.value())
    finally:
        c.close()
    assert got == [b"committed-0", b"committed-1", b"committed-2", b"last"]


def test_up_then_down_leaves_nothing(tmp_path):
    """A second, private stack: started and stopped here, then checked for leftovers."""
    run_dir = tmp_path / "run"
    s = local_stack.up(kafka_port=free_port(), controller_port=free_port(), registry_port=free_port(), run_dir=run_dir)
    pids = [p["pid"] for p in s.state["processes"]]
    assert len(pids) == 2 and all(local_stack.pid_alive(p) for p in pids)
    local_stack.down(run_dir=run_dir)
    for pid in pids:
        assert not local_stack.pid_alive(pid), f"pid {pid} still alive after down()"
    assert local_stack.tagged_pids(run_dir) == []
    assert not Path(s.data_dir).exists()
    assert not (run_dir / "state.json").exists()
    assert local_stack.status(run_dir=run_dir)["running"] is False
    local_stack.down(run_dir=run_dir)  # idempotent
