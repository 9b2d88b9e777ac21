"""--client-config: the file's format, the split between Kafka and registry keys, precedence, validation."""

from __future__ import annotations

import pytest

from txpipe import client_config, producer

BASE = ["-b", "127.0.0.1:1", "-s", "http://127.0.0.1:1", "-t", "t"]
SECRET = "s3cr3t-Pa55word-never-shown"


def write(tmp_path, text: str):
    path = tmp_path / "client.properties"
    path.write_text(text)
    return path


def test_reads_key_values_skipping_comments_and_blank_lines(tmp_path):
    path = write(
        tmp_path,
        "# a comment\n! another\n\n  security.protocol = SASL_SSL\nsasl.password=a=b=c\n"
        "schema.registry.basic.auth.user.info=u:p\n",
    )
    assert client_config.read_properties(path) == {
        "security.protocol": "SASL_SSL",
        "sasl.password": "a=b=c",  # split at the first '=' only
        "schema.registry.basic.auth.user.info": "u:p",
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ok=1\n" + SECRET + "\n", "line 2: no '='"),
        ("=" + SECRET + "\n", "line 1: no key"),
        ("sasl password=" + SECRET + "\n", "line 1: the key has a space"),
    ],
)
def test_a_bad_line_is_named_by_file_and_line_without_its_value(tmp_path, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(client_config.ClientConfigError) as err:
        client_config.read_properties(path)
    assert str(path) in str(err.value) and reason in str(err.value)
    assert SECRET not in str(err.value)


def test_a_missing_file_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        producer.parse_args(BASE + ["--client-config", str(tmp_path / "nope.properties")])
    assert exit_.value.code == producer.EXIT_USAGE
    assert "nope.properties: cannot be read" in capsys.readouterr().err


def test_registry_keys_are_split_off_without_their_prefix(tmp_path):
    path = write(
        tmp_path,
        "security.protocol=SASL_SSL\nsasl.username=producer\nsasl.password=" + SECRET + "\n"
        "schema.registry.basic.auth.credentials.source=USER_INFO\n"
        "schema.registry.basic.auth.user.info=producer:" + SECRET + "\n"
        "schema.registry.ssl.ca.location=/ca.crt\nschema.registry.max.retries=0\n",
    )
    settings = client_config.load(path)
    assert settings.kafka == {"security.protocol": "SASL_SSL", "sasl.username": "producer", "sasl.password": SECRET}
    # credentials.source is the Java clients' key: checked, then dropped (the Python client has none).
    assert settings.registry == {"basic.auth.user.info": "producer:" + SECRET, "ssl.ca.location": "/ca.crt", "max.retries": 0}


def test_precedence_defaults_then_file_then_x(tmp_path):
    path = write(tmp_path, "linger.ms=100\nacks=1\nschema.registry.timeout=30\nschema.registry.ssl.ca.location=/a\n")
    args = producer.parse_args(
        BASE + ["--client-config", str(path), "-X", "acks=all", "-X", "schema.registry.ssl.ca.location=/b"]
    )
    conf = producer.producer_config(args)
    assert conf["linger.ms"] == "100"  # the file over the built-in 5
    assert conf["acks"] == "all"  # -X over the file
    assert conf["enable.idempotence"] is True  # built-in, untouched
    assert "schema.registry.ssl.ca.location" not in conf  # never handed to librdkafka
    registry = producer.registry_config(args)
    assert registry == {"url": "http://127.0.0.1:1", "timeout": 30.0, "ssl.ca.location": "/b"}


def test_every_kafka_client_gets_the_same_security_settings(tmp_path):
    path = write(tmp_path, "security.protocol=SSL\nssl.ca.location=/ca.crt\nbootstrap.servers=elsewhere:9092\n")
    args = producer.parse_args(BASE + ["--client-config", str(path)])
    for conf in (producer.producer_config(args), producer.admin_config(args)):
        assert conf["security.protocol"] == "SSL" and conf["ssl.ca.location"] == "/ca.crt"
        assert conf["bootstrap.servers"] == "127.0.0.1:1"  # -b is the one place for the brokers
    assert "enable.idempotence" not in producer.admin_config(args)


def test_the_file_may_come_from_the_environment(tmp_path, monkeypatch):
    path = write(tmp_path, "security.protocol=SSL\n")
    monkeypatch.setenv(producer.CLIENT_CONFIG_ENV, str(path))
    assert producer.producer_config(producer.parse_args(BASE))["security.protocol"] == "SSL"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("schema.registry.basic.auth.pasword=" + SECRET, "unknown registry setting schema.registry.basic.auth.pasword"),
        ("schema.registry.url=https://u:" + SECRET + "@r", "give the registry URL with -s"),
        ("schema.registry.basic.auth.credentials.source=SASL_INHERIT", "must be one of USER_INFO, URL"),
        ("schema.registry.timeout=" + SECRET, "schema.registry.timeout must be a number"),
        ("schema.registry.basic.auth.user.info=" + SECRET, "must be USER:PASSWORD"),
    ],
)
def test_registry_keys_the_client_would_refuse_are_named_up_front(tmp_path, capsys, line, reason):
    path = write(tmp_path, line + "\n")
    with pytest.raises(SystemExit) as exit_:
        producer.parse_args(BASE + ["--client-config", str(path)])
    assert exit_.value.code == producer.EXIT_USAGE
    err = capsys.readouterr().err
    assert reason in err and str(path) in err
    assert SECRET not in err


def test_an_unknown_registry_key_in_x_is_named_too(capsys):
    with pytest.raises(SystemExit):
        producer.parse_args(BASE + ["-X", "schema.registry.nope=1"])
    assert "-X: unknown registry setting schema.registry.nope" in capsys.readouterr().err


def test_every_key_accepted_is_one_the_registry_client_takes(tmp_path):
    from confluent_kafka.schema_registry import SchemaRegistryClient

    ca = tmp_path / "none"
    settings = client_config.registry_settings(
        {"basic.auth.user.info": "u:p", "proxy": "http://127.0.0.1:1", "max.retries": "1", "retries.wait.ms": "10",
         "retries.max.wait.ms": "20", "cache.capacity": "10", "cache.latest.ttl.sec": "5", "timeout": "3"},
        "test",
    )  # fmt: skip
    SchemaRegistryClient.new_client({"url": "https://127.0.0.1:1", **settings})  # raises on a key it does not know
    assert not ca.exists()


def test_redact_hides_userinfo_of_urls():
    assert client_config.redact("GET https://user:" + SECRET + "@host:8081/x failed") == "GET https://***@host:8081/x failed"
