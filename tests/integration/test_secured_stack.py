"""The secured local stack (``--security sasl_ssl`` and ``--security mtls``) on a real broker, real TLS, real SCRAM.

Each mode runs on the session's secured stack of that mode (tests/conftest.py), on a pipeline of its own: the apps'
users can do what their pipeline needs and nothing more, clients without credentials, with a wrong
password or an untrusted certificate are refused, the registry wants basic auth and knows who may
register, and no generated password is in any log or in any process's argv. Every refused write
also leaves the input topic and its -totals where they ended before it (end offsets, as the admin
reads them), and a refused registration leaves no subject behind.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.stacks import SECURED_MODES, own_pipeline
from txpipe_tools import local_stack
from txpipe_tools.local_stack.security import all_secrets, read_properties

# Each mode on the session's secured stack of that mode (tests/conftest.py), with a pipeline of its own.
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("security", SECURED_MODES, indirect=True)]

# Every wait is bounded: a refusal must come quickly, never after minutes of retries.
REFUSAL_S = 20.0


@pytest.fixture(scope="module")
def secured(secured_session_stack):
    return own_pipeline(secured_session_stack)


def conf(stack, role: str, **extra) -> dict:
    """librdkafka settings of ``role`` from the stack's own files (registry keys left out)."""
    props = read_properties(local_stack.security_files(stack.run_dir)["files"]["librdkafka"][role])
    out = {k: v for k, v in props.items() if not k.startswith("schema.registry.")}
    return {**out, "bootstrap.servers": stack.bootstrap_servers, **extra}


def create_topic(stack, name: str, role: str = "admin") -> None:
    admin = AdminClient(conf(stack, role))
    for fut in admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)], request_timeout=15).values():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def produce(
    stack, role: str, topic: str | list[str], values: list[bytes], settings: dict | None = None
) -> list[KafkaError | None]:
    """Sends ``values`` (to each of ``topic`` when a list) as ``role``, or with ``settings`` instead of
    the role's own; returns each delivery's error (None when acknowledged)."""
    results: list[KafkaError | None] = []
    client = settings if settings is not None else conf(stack, role)
    producer = Producer({**client, "enable.idempotence": True, "message.timeout.ms": int(REFUSAL_S * 1000) - 5000})
    for t in [topic] if isinstance(topic, str) else topic:
        for v in values:
            producer.produce(t, v, key=b"acc", on_delivery=lambda err, _msg: results.append(err))
            producer.poll(0)
    left = producer.flush(REFUSAL_S)
    assert left == 0, f"{left} record(s) neither delivered nor failed within {REFUSAL_S}s"
    return results


def consume(stack, role: str, topic: str, group: str, want: int, timeout: float = REFUSAL_S) -> list[bytes]:
    """Reads ``want`` values from the start of ``topic`` in ``group`` as ``role``; raises the first error."""
    consumer = Consumer(conf(stack, role, **{"group.id": group, "auto.offset.reset": "earliest"}))
    got: list[bytes] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(got) < want:
            assert time.monotonic() < deadline, f"only {len(got)} of {want} records from {topic} within {timeout}s"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            got.append(msg.value())
    finally:
        consumer.close()
    return got


def end_offsets(stack, topics: list[str]) -> dict[str, int]:
    """Each topic's end offset (summed over its partitions), read as the admin, who may describe every topic."""
    consumer = Consumer(conf(stack, "admin", **{"group.id": f"ends-{secrets.token_hex(3)}"}))
    try:
        ends = {}
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=REFUSAL_S).topics[topic]
            assert meta.error is None, f"{topic}: {meta.error}"
            partitions = [TopicPartition(topic, p) for p in meta.partitions]
            ends[topic] = sum(consumer.get_watermark_offsets(tp, timeout=REFUSAL_S)[1] for tp in partitions)
        return ends
    finally:
        consumer.close()


@contextlib.contextmanager
def nothing_written(stack, topic: str):
    """Around refused attempts: ``topic`` and ``topic``-totals (created as the admin when missing) end
    where they ended before them. Yields the two topics' names."""
    topics = [topic, f"{topic}-totals"]
    for t in topics:
        create_topic(stack, t)
    before = end_offsets(stack, topics)
    yield topics
    after = end_offsets(stack, topics)
    assert after == before, f"a refused attempt moved end offsets (before {before}, after {after})"


def test_the_producer_writes_and_the_consumer_reads(secured):
    create_topic(secured, secured.topic, role="producer")  # the producer creates its topic when missing
    values = [f"tx-{i}".encode() for i in range(5)]
    assert produce(secured, "producer", secured.topic, values) == [None] * 5
    assert consume(secured, "consumer", secured.topic, secured.group, 5) == values


def test_the_producer_cannot_consume_nor_write_the_totals(secured):
    create_topic(secured, secured.topic, role="producer")
    with pytest.raises(KafkaException) as refused:
        consume(secured, "producer", secured.topic, secured.group, 1)
    assert refused.value.args[0].code() in (KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED)

    totals = f"{secured.topic}-totals"
    create_topic(secured, totals)
    assert produce(secured, "admin", totals, [b"the-real-total"]) == [None]
    with nothing_written(secured, secured.topic):
        errors = produce(secured, "producer", totals, [b"forged"])
    assert errors[0] is not None and errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, errors

    # It cannot even see the totals topic (no DESCRIBE, so no READ either): its metadata is refused.
    meta = AdminClient(conf(secured, "producer")).list_topics(totals, timeout=10)
    assert meta.topics[totals].error is not None
    assert meta.topics[totals].error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, meta.topics[totals].error
    # The refused write changed nothing: the admin still reads exactly the one real record.
    assert consume(secured, "admin", totals, f"check-{secrets.token_hex(3)}", 1) == [b"the-real-total"]


def test_the_consumer_cannot_write_the_input_topic(secured):
    create_topic(secured, secured.topic, role="producer")
    with nothing_written(secured, secured.topic):
        errors = produce(secured, "consumer", secured.topic, [b"forged"])
    assert errors[0] is not None and errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, errors


def test_a_user_without_acls_is_refused(secured):
    create_topic(secured, secured.topic, role="producer")
    with nothing_written(secured, secured.topic) as topics:
        errors = produce(secured, "nobody", topics, [b"forged"])
    assert len(errors) == 2 and all(e is not None and e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED for e in errors), errors


def refused_writes(stack, settings: dict) -> list[KafkaError | None]:
    """A forged record to the pipeline's input and one to its -totals with ``settings``: both fail, and
    neither topic moves. Returns the deliveries' errors."""
    with nothing_written(stack, stack.topic) as topics:
        errors = produce(stack, "", topics, [b"forged"], settings={**settings, "log_level": 0})
    assert len(errors) == 2 and all(e is not None for e in errors), f"a forged record was acknowledged: {errors}"
    return errors


def refused_quickly(settings: dict) -> list[KafkaError]:
    """Asserts a client with ``settings`` gets no metadata; returns the errors it reported."""
    seen: list[KafkaError] = []
    admin = AdminClient({**settings, "error_cb": seen.append})
    t0 = time.monotonic()
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=10)
    assert time.monotonic() - t0 < REFUSAL_S
    admin.poll(1)  # serves error_cb
    return seen


def test_plaintext_and_credential_less_clients_are_refused(secured):
    plaintext = {"bootstrap.servers": secured.bootstrap_servers, "security.protocol": "plaintext"}
    refused_quickly(plaintext)
    refused_writes(secured, plaintext)
    tls_only = conf(secured, "producer")
    for key in ("sasl.mechanisms", "sasl.username", "sasl.password", "ssl.certificate.location", "ssl.key.location"):
        tls_only.pop(key, None)
    tls_only["security.protocol"] = "SSL"  # trusts the CA, presents no credentials
    refused_quickly(tls_only)
    refused_writes(secured, tls_only)


def test_wrong_credentials_are_refused(secured, tmp_path):
    settings = conf(secured, "producer")
    if secured.mode == "sasl_ssl":
        settings["sasl.password"] = "not-" + settings["sasl.password"]
        errors = refused_quickly(settings)
        assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
        refused_writes(secured, settings)
    else:
        # The right name on a certificate the stack's CA never signed.
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
             "-subj", "/CN=txpipe-producer", "-days", "1"],
            cwd=tmp_path, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        settings["ssl.certificate.location"] = str(tmp_path / "c.pem")
        settings["ssl.key.location"] = str(tmp_path / "k.pem")
        refused_quickly(settings)
        refused_writes(secured, settings)


def test_grant_pipeline_adds_a_second_pipeline(secured):
    topic, group = f"transactions-{secrets.token_hex(4)}", f"txpipe-{secrets.token_hex(4)}"
    create_topic(secured, topic)
    with nothing_written(secured, topic):
        assert produce(secured, "producer", topic, [b"x"])[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    local_stack.grant_pipeline(topic, group, run_dir=secured.run_dir)
    assert produce(secured, "producer", topic, [b"x"]) == [None]
    assert consume(secured, "consumer", topic, group, 1) == [b"x"]


# --------------------------------------------------------------------------------------------
# registry


def http(stack, method: str, path: str, role: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    info = local_stack.security_files(stack.run_dir)
    req = urllib.request.Request(
        stack.schema_registry_url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
    )
    if role:
        user_info = read_properties(info["files"]["librdkafka"][role])["schema.registry.basic.auth.user.info"]
        req.add_header("Authorization", "Basic " + base64.b64encode(user_info.encode()).decode())
    context = ssl.create_default_context(cafile=info["ca"])
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, {}


def test_the_registry_wants_credentials_and_knows_who_may_register(secured):
    assert secured.schema_registry_url.startswith("https://127.0.0.1:")
    subject = f"{secured.topic}-value"
    schema = {"schemaType": "PROTOBUF", "schema": 'syntax = "proto3"; message T { string id = 1; }'}
    assert http(secured, "GET", "/subjects")[0] == 401
    status, body = http(secured, "POST", f"/subjects/{subject}/versions", "producer", schema)
    assert status == 200 and "id" in body
    status, read = http(secured, "GET", f"/schemas/ids/{body['id']}", "consumer")
    assert status == 200 and "message T" in read["schema"]
    assert http(secured, "POST", f"/subjects/{subject}-x/versions", "consumer", schema)[0] == 403
    # The refused registration left nothing: the subject does not exist (the same read finds the one registered above).
    assert http(secured, "GET", f"/subjects/{subject}-x/versions", "consumer")[0] == 404
    assert http(secured, "GET", f"/subjects/{subject}/versions", "consumer") == (200, [1])
    # Plain HTTP on the registry's port gets no answer at all.
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(secured.schema_registry_url.replace("https://", "http://") + "/subjects", timeout=5)


# --------------------------------------------------------------------------------------------
# secrets at rest, in logs, in argv


def test_no_password_in_any_log_or_argv(secured):
    info = local_stack.security_files(secured.run_dir)
    passwords = all_secrets(info)
    assert len(passwords) >= 2 and all(len(p) >= 16 for p in passwords)
    logs = [p for p in Path(secured.run_dir, "logs").rglob("*") if p.is_file()]
    assert logs, "the stack wrote no log"
    state = json.loads(Path(secured.run_dir, "state.json").read_text())
    argvs = {}
    for proc in state["processes"]:
        raw = Path(f"/proc/{proc['pid']}/cmdline").read_bytes()
        assert raw, f"{proc['name']} (pid {proc['pid']}) is not running"
        argvs[proc["name"]] = raw.decode(errors="replace")
    for password in passwords:
        for log in logs:
            assert password not in log.read_text(errors="replace"), f"a generated password is in {log}"
        for name, argv in argvs.items():
            assert password not in argv, f"a generated password is in the argv of {name}"
        assert password not in Path(secured.run_dir, "state.json").read_text()
    sec = Path(info["dir"])
    assert sec.stat().st_mode & 0o777 == 0o700
    for secret_file in [*sec.glob("*.properties"), *sec.glob("*.key"), sec / "secrets.json"]:
        assert secret_file.stat().st_mode & 0o077 == 0, f"{secret_file} is readable by others"
    # The stack's own readiness probe (TLS + credentials) still says the registry answers.
    assert local_stack.status(run_dir=secured.run_dir)["registry_http_ok"]
