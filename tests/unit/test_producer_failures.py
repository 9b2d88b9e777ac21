"""The producer names what is wrong with a secured cluster in one line, and never shows a secret."""

from __future__ import annotations

import ssl

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.schema_registry.error import SchemaRegistryError

from txpipe import failures, producer

SECRET = "s3cr3t-Pa55word-never-shown"


def test_authentication_and_tls_errors_are_refusals():
    auth = failures.kafka_refusal(KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: invalid credentials"))
    assert auth is not None and auth.startswith("Kafka authentication failed") and "sasl.password" in auth
    tls = failures.kafka_refusal(KafkaError(KafkaError._SSL, "SSL handshake failed: certificate verify failed"))
    assert tls is not None and tls.startswith("Kafka TLS failure") and "ssl.ca.location" in tls
    assert failures.kafka_refusal(KafkaError(KafkaError._TRANSPORT, "Connection refused")) is None
    refused_cert = KafkaError(
        KafkaError._TRANSPORT,
        "ssl://127.0.0.1:1/bootstrap: Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate: "
        "SSL alert number 42 (after 0ms in state APIVERSION_QUERY)",
    )
    line = failures.kafka_refusal(refused_cert)
    assert line is not None and line.startswith("Kafka TLS failure") and "ssl.certificate.location" in line


def test_the_watch_ends_on_the_first_refusal_and_explains_a_plaintext_client():
    watch = failures.ErrorWatch()
    watch(KafkaError(KafkaError._TRANSPORT, "Connection refused"))
    assert watch.refusal() is None
    watch(
        KafkaError(
            KafkaError._TRANSPORT,
            "Disconnected while requesting ApiVersion: might be caused by incorrect security.protocol "
            "configuration (connecting to a SSL listener?)",
        )
    )
    line = watch.explain("cannot reach Kafka within 15s", KafkaError(KafkaError._TRANSPORT, "timed out"))
    assert "security.protocol" in line and "--client-config" in line and "\n" not in line
    watch(KafkaError(KafkaError._AUTHENTICATION, "bad password"))
    assert watch.refusal() is not None and "authentication" in watch.refusal()


def test_an_unreachable_cluster_still_says_so():
    watch = failures.ErrorWatch()
    watch(KafkaError(KafkaError._TRANSPORT, "Connect to ipv4#127.0.0.1:1 failed: Connection refused"))
    line = watch.explain("cannot reach Kafka within 15s", KafkaError(KafkaError._TRANSPORT, "timed out"))
    assert line.startswith("cannot reach Kafka within 15s: ") and "Connection refused" in line


def test_authorization_names_operation_and_resource():
    topic = failures.authorization(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED), "CREATE", "topic 'tx'")
    assert topic == "not authorized to CREATE topic 'tx' (TOPIC_AUTHORIZATION_FAILED): grant the producer's user CREATE on it"
    cluster = failures.authorization(KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED), "WRITE", "topic 'tx'")
    assert cluster is not None and "IDEMPOTENT_WRITE" in cluster
    assert failures.authorization(KafkaError(KafkaError.REQUEST_TIMED_OUT), "CREATE", "topic 'tx'") is None


@pytest.mark.parametrize(("status", "words"), [(401, "basic.auth.user.info"), (403, "may not register")])
def test_registry_credentials_and_permissions_are_not_retried(status, words):
    line = failures.registry_refusal(SchemaRegistryError(status, status * 100 + 1, "Unauthorized"), "tx-value")
    assert line is not None and words in line and "tx-value" in line
    assert failures.registry_refusal(SchemaRegistryError(503, 50301, "unavailable"), "tx-value") is None


def test_registry_tls_trust_is_not_retried():
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
        except ssl.SSLError as inner:
            raise ConnectionError("cannot connect") from inner  # as the registry client wraps it
    except ConnectionError as exc:
        line = failures.registry_refusal(exc, "tx-value")
    assert line is not None and "schema.registry.ssl.ca.location" in line
    assert failures.registry_refusal(ConnectionError("Connection refused"), "tx-value") is None


def test_a_refused_registry_ends_the_first_send_at_once():
    class Refusing:
        calls = 0

        def __call__(self, tx, ctx):
            self.calls += 1
            raise SchemaRegistryError(401, 40101, "Unauthorized")

    serializer = Refusing()
    sender = producer.Sender(None, serializer, "tx", producer.Stats(), registry_wait=60)  # type: ignore[arg-type]
    from txpipe.generator import generate

    with pytest.raises(producer.ProducerError, match="HTTP 401"):
        sender.prepare(next(iter(generate(1, 1, seed=1))))
    assert serializer.calls == 1


def _client_config(tmp_path):
    path = tmp_path / "producer.properties"
    path.write_text(
        "security.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=producer\n"
        f"sasl.password={SECRET}\nschema.registry.basic.auth.user.info=producer:{SECRET}\n"
    )
    return path


def test_no_secret_in_the_error_of_a_run_with_a_client_config(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(producer, "METADATA_TIMEOUT_S", 1.0)
    args = producer.parse_args(
        ["-b", "127.0.0.1:1", "-s", "http://127.0.0.1:1", "-t", "t", "-q", "--client-config", str(_client_config(tmp_path))]
    )
    assert producer.main(args) == producer.EXIT_FAILED
    out = capsys.readouterr()
    assert "cannot reach Kafka" in out.err
    assert SECRET not in out.out + out.err


class _NoBroker(Producer):
    """The real producer with the set-up's metadata request skipped: its records wait for --flush-timeout."""

    def list_topics(self, *args, **kwargs):
        return None


def test_no_secret_in_the_summary_of_a_run_with_a_client_config(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(producer, "Producer", _NoBroker)
    monkeypatch.setattr(producer, "ensure_topic", lambda *a, **k: False)
    monkeypatch.setattr(producer, "check_write_access", lambda *a, **k: None)
    args = producer.parse_args(
        ["-b", "127.0.0.1:1", "-s", "mock://secured", "-t", "t", "-n", "3", "-q", "--flush-timeout", "0.5",
         "--client-config", str(_client_config(tmp_path))]
    )  # fmt: skip
    assert producer.main(args) == producer.EXIT_FAILED
    out = capsys.readouterr()
    assert "topic=t sent=3 delivered=0 failed=3" in out.out  # the summary line was printed
    assert SECRET not in out.out + out.err
