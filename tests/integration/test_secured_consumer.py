"""The consumer on a secured cluster: one client config file for every client, exact totals, and
each refusal (wrong password, no TLS settings, a group without grants) ending it fast with one line.

Each mode runs on the session's secured stack of that mode, on a pipeline of its own; the transactions are sent with
confluent-kafka's standard serializer as the producer's user, through the registry over HTTPS.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.support.stacks import SECURED_MODES, own_pipeline
from txpipe import generator
from txpipe.producer import ensure_topic
from txpipe.schema import Transaction
from txpipe.totals import RunningTotals
from txpipe_tools import local_stack
from txpipe_tools.consumer_runner import ConsumerProcess
from txpipe_tools.local_stack.security import _certificate, all_secrets, read_properties

# Each mode on the session's secured stack of that mode (tests/conftest.py), with a pipeline of its own.
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("security", SECURED_MODES, indirect=True)]

# The bound for a refusal to end the consumer, with one line naming the cause.
REFUSAL_S = 30.0
SENT = 300


@pytest.fixture(scope="module")
def secured(secured_session_stack):
    handle = own_pipeline(secured_session_stack)
    handle.truth = _send(handle)
    return handle


def _files(stack) -> dict:
    return local_stack.security_files(stack.run_dir)["files"]


def _send(stack) -> RunningTotals:
    """SENT transactions as the producer's user, through the registry over HTTPS with its credentials."""
    props = read_properties(_files(stack)["librdkafka"]["producer"])
    kafka = {k: v for k, v in props.items() if not k.startswith("schema.registry.")}
    reg = {k.removeprefix("schema.registry."): v for k, v in props.items() if k.startswith("schema.registry.")}
    registry = SchemaRegistryClient({"url": stack.schema_registry_url, "timeout": 10, **reg})
    ser = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    ctx = SerializationContext(stack.topic, MessageField.VALUE)
    # The producer's user may create its topic (the stack grants it CREATE on it).
    assert ensure_topic(AdminClient({**kafka, "bootstrap.servers": stack.bootstrap_servers}), stack.topic, 3, 1)
    producer = Producer({**kafka, "bootstrap.servers": stack.bootstrap_servers, "acks": "all", "enable.idempotence": True})
    truth, errors = RunningTotals(), []
    for t in generator.generate(SENT, 12, 2323):
        producer.produce(
            stack.topic,
            key=t.account_number.encode(),
            value=ser(t, ctx),
            on_delivery=lambda err, _m: errors.append(str(err)) if err else None,
        )
        truth.add(t.account_number, t.amount)
        producer.poll(0)
    assert producer.flush(60) == 0 and not errors, errors
    return truth


def _consumer(stack, tmp: Path, group: str, client_config: Path | None) -> ConsumerProcess:
    extra = ["--state-dir", str(tmp / "state"), "--topic-wait-seconds", "120"]
    if client_config is not None:
        extra += ["--client-config", str(client_config)]
    return ConsumerProcess(
        stack.bootstrap_servers, stack.schema_registry_url, stack.topic, group, extra_args=extra, log_dir=tmp / "logs"
    ).start()


def _refused(consumer: ConsumerProcess) -> tuple[int, float, str]:
    started = time.monotonic()
    try:
        code = consumer._proc.wait(REFUSAL_S + 15)
    except subprocess.TimeoutExpired:
        consumer.stop()
        pytest.fail(f"the consumer was still running {REFUSAL_S + 15:.0f}s after a refusal: {consumer.stderr_text()[-2000:]}")
    consumer.stop()
    return code, time.monotonic() - started, consumer.stderr_text()


def test_the_consumer_counts_exactly_with_its_client_config_and_no_secret_shows(secured, tmp_path):
    config = Path(_files(secured)["java"]["consumer"])
    consumer = _consumer(secured, tmp_path, secured.group, config)
    try:
        consumer.wait_for_totals(secured.truth.formatted(), timeout=180)
        assert len(consumer.lines) == SENT
        assert consumer.alive()
        argv = Path(f"/proc/{consumer.pid}/cmdline").read_bytes().decode(errors="replace")
    finally:
        consumer.stop()
    log = consumer.stderr_text()
    assert "rejected_to_dlq=0" in log, log[-3000:]
    for secret in all_secrets(local_stack.security_files(secured.run_dir)):
        assert secret not in log and secret not in argv, "a generated secret is in the consumer's log or argv"


def test_a_wrong_password_ends_the_consumer_fast_with_one_line(secured, tmp_path):
    props = read_properties(_files(secured)["java"]["consumer"])
    if secured.mode == "sasl_ssl":
        props["sasl.jaas.config"] = re.sub(r'password="[^"]*"', 'password="not-the-password"', props["sasl.jaas.config"])
        expected = "authentication failed"
    else:
        # mTLS: trust a CA that did not sign the brokers' certificate.
        other = tmp_path / "other-ca.pem"
        other.write_text(
            Path(props["ssl.keystore.location"]).read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        )
        props["ssl.truststore.location"] = str(other)
        expected = "TLS handshake with the brokers failed"
    bad = tmp_path / "bad.properties"
    bad.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    code, took, log = _refused(_consumer(secured, tmp_path, secured.group, bad))
    assert code == 1 and took < REFUSAL_S, (code, took, log[-2000:])
    assert expected in log, log[-2000:]


def test_no_client_config_at_a_tls_listener_is_told_so(secured, tmp_path):
    # Nothing at all: the brokers' TLS listener is named before any Kafka client talks to it.
    code, took, log = _refused(_consumer(secured, tmp_path / "none", secured.group, None))
    assert code == 1 and took < REFUSAL_S, (code, took, log[-2000:])
    assert "speaks TLS, but security.protocol is PLAINTEXT" in log, log[-2000:]
    # The registry's settings alone: the same.
    props = read_properties(_files(secured)["java"]["consumer"])
    registry_only = tmp_path / "registry-only.properties"
    registry_only.write_text("".join(f"{k}={v}\n" for k, v in props.items() if k.startswith("schema.registry.")))
    code, took, log = _refused(_consumer(secured, tmp_path / "registry-only", secured.group, registry_only))
    assert code == 1 and took < REFUSAL_S, (code, took, log[-2000:])
    assert "speaks TLS, but security.protocol is PLAINTEXT" in log, log[-2000:]


def test_a_group_without_grants_is_named(secured, tmp_path):
    config = Path(_files(secured)["java"]["consumer"])
    code, took, log = _refused(_consumer(secured, tmp_path, f"ungranted-{secrets.token_hex(3)}", config))
    assert code == 1 and took < REFUSAL_S, (code, took, log[-2000:])
    assert "not authorized" in log, log[-2000:]


def _write(props: dict, path: Path) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def test_an_unknown_user_is_refused_with_one_cause(secured, tmp_path):
    props = read_properties(_files(secured)["java"]["consumer"])
    if secured.mode == "sasl_ssl":  # no SCRAM credentials under that name: authentication fails
        props["sasl.jaas.config"] = re.sub(r'username="[^"]*"', 'username="txpipe-stranger"', props["sasl.jaas.config"])
        expected = "authentication failed"
    else:  # a certificate from the stack's own CA for a name no ACL grants anything: authorization fails
        material = tmp_path / "stranger"
        material.mkdir()
        for name in ("ca.crt", "ca.key"):
            shutil.copy(Path(local_stack.security_files(secured.run_dir)["dir"]) / name, material / name)
        _certificate(material, "txpipe-stranger", server=False)
        props["ssl.keystore.location"] = str(material / "txpipe-stranger.pem")
        expected = "not authorized"
    code, took, log = _refused(_consumer(secured, tmp_path, secured.group, _write(props, tmp_path / "stranger.properties")))
    assert code == 1 and took < REFUSAL_S, (code, took, log[-2000:])
    assert expected in log, log[-2000:]


def test_brokers_signed_by_an_untrusted_ca_end_the_consumer_fast(secured, tmp_path):
    props = read_properties(_files(secured)["java"]["consumer"])
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt",
         "-subj", "/CN=not the stack's CA", "-days", "1"],
        cwd=tmp_path, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    props["ssl.truststore.location"] = str(tmp_path / "other-ca.crt")
    code, took, log = _refused(_consumer(secured, tmp_path, secured.group, _write(props, tmp_path / "other-ca.properties")))
    assert code == 1 and took < REFUSAL_S, (code, took, log[-2000:])
    assert "TLS handshake with the brokers failed" in log, log[-2000:]


def test_a_registry_refusing_the_credentials_ends_the_consumer_with_one_line(secured, tmp_path):
    props = read_properties(_files(secured)["java"]["consumer"])
    user, _, password = props["schema.registry.basic.auth.user.info"].partition(":")
    wrong = f"not-{password}"
    props["schema.registry.basic.auth.user.info"] = f"{user}:{wrong}"
    code, took, log = _refused(_consumer(secured, tmp_path, secured.group, _write(props, tmp_path / "wrong-registry.properties")))
    assert code == 1 and took < REFUSAL_S, (code, took, log[-2000:])
    refusals = [line for line in log.splitlines() if "refused the consumer (HTTP 401)" in line]
    assert len(refusals) == 1 and "schema.registry.basic.auth.user.info" in refusals[0], log[-2000:]
    assert wrong not in log and password not in log
