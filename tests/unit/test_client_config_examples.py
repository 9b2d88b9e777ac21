"""The example client configs of docs/client-config (docs/security.md) are files the producer takes:
its loader reads them, librdkafka knows every Kafka key, the registry client takes every registry key.
(The consumer's examples are checked by the Scala ClientConfigSpec.) So the docs cannot rot.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from txpipe import client_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "client-config"
PRODUCER_EXAMPLES = sorted(EXAMPLES.glob("*-producer.properties"))


def test_every_kind_has_a_producer_and_a_consumer_example_named_in_the_docs():
    kinds = {p.name.removesuffix("-producer.properties") for p in PRODUCER_EXAMPLES}
    assert kinds >= {"confluent-cloud", "scram", "mtls"}
    assert kinds == {p.name.removesuffix("-consumer.properties") for p in EXAMPLES.glob("*-consumer.properties")}
    docs = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for path in EXAMPLES.glob("*.properties"):
        assert f"client-config/{path.name}" in docs, f"docs/security.md does not point at {path.name}"


@pytest.mark.parametrize("path", PRODUCER_EXAMPLES, ids=lambda p: p.name)
def test_the_producer_takes_the_example(path):
    settings = client_config.load(path)
    assert settings.kafka["security.protocol"] in ("SASL_SSL", "SSL")
    assert ":" in str(settings.registry["basic.auth.user.info"])
    # librdkafka refuses an unknown key or a bad value when the client is made. The *.location files
    # are the reader's own, so they are left out; nothing is sent (a closed loopback port).
    kafka = {k: v for k, v in settings.kafka.items() if not k.endswith(".location")}
    Producer({**kafka, "bootstrap.servers": "127.0.0.1:1"}).flush(0)
    registry = {k: v for k, v in settings.registry.items() if not k.endswith(".location")}
    SchemaRegistryClient({"url": "https://127.0.0.1:1", **registry})


def test_a_java_example_is_refused_by_the_producer_by_name():
    # The formats differ (ssl.truststore.* is Java's): a Java file given to the producer fails at once,
    # naming the key, instead of connecting without its settings.
    with pytest.raises(client_config.ClientConfigError, match=r"unknown registry setting schema\.registry\.ssl\.truststore"):
        client_config.load(EXAMPLES / "scram-consumer.properties")
