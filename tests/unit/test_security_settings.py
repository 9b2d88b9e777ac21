"""The secured stack's settings, without a broker: listeners, authorizer, ACL separation, client files."""

from __future__ import annotations

from pathlib import Path

import pytest

from txpipe_tools.local_stack import kafka_nodes, read_properties, server_properties
from txpipe_tools.local_stack.acls import pipeline_grants
from txpipe_tools.local_stack.base import StackError
from txpipe_tools.local_stack.security import all_secrets, make_material, material_for, write_client_files


@pytest.fixture(scope="module", params=["sasl_ssl", "mtls"])
def material(request, tmp_path_factory):
    info = make_material(tmp_path_factory.mktemp(request.param) / "security", request.param)
    info["files"] = write_client_files(info)
    return info


def test_no_listener_is_plaintext_and_nobody_is_anonymous(material, tmp_path):
    nodes = kafka_nodes(3, 19092, 19093, tmp_path)
    props = server_properties(nodes[1], nodes, material)
    protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) <= {"SASL_SSL", "SSL"}
    assert {lst.split("://")[0] for lst in props["listeners"].split(",")} == set(protocols)
    assert props["super.users"] == "User:txpipe-broker"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    if material["mode"] == "mtls":
        assert props["listener.name.client.ssl.client.auth"] == "required"


def test_topic_grants_keep_the_producer_off_the_outputs_and_the_consumer_off_the_input():
    grants = pipeline_grants("transactions-x", "txpipe-g")

    def covers(g, topic):
        return g.resource == "TOPIC" and (topic == g.name if g.pattern == "LITERAL" else topic.startswith(g.name))

    def may(user, op, topic):
        return any(g.principal == user and covers(g, topic) and (op in g.operations or "ALL" in g.operations) for g in grants)

    assert may("txpipe-producer", "WRITE", "transactions-x")
    assert not may("txpipe-producer", "WRITE", "transactions-x-totals")
    assert not may("txpipe-producer", "READ", "transactions-x")
    assert may("txpipe-consumer", "WRITE", "transactions-x-totals")
    assert may("txpipe-consumer", "DELETE", "txpipe-g-transactions-by-account-repartition")
    assert not may("txpipe-consumer", "WRITE", "transactions-x")


def test_client_files_are_private_and_in_each_apps_format(material):
    files = material["files"]
    producer, consumer = read_properties(files["producer"]), read_properties(files["consumer"])
    assert "ssl.ca.location" in producer and "schema.registry.basic.auth.user.info" in producer
    assert consumer["ssl.truststore.type"] == "PEM" and "schema.registry.basic.auth.user.info" in consumer
    if material["mode"] == "sasl_ssl":
        assert producer["sasl.mechanisms"] == "SCRAM-SHA-512"
        assert "ScramLoginModule" in consumer["sasl.jaas.config"]
    else:
        assert Path(producer["ssl.certificate.location"]).is_file()
        assert consumer["ssl.keystore.type"] == "PEM" and Path(consumer["ssl.keystore.location"]).is_file()
    for path in [files[r] for r in ("producer", "consumer", "admin", "nobody")]:
        assert Path(path).stat().st_mode & 0o077 == 0
    assert all(len(p) == 32 for p in all_secrets(material))


def test_a_kept_data_dir_keeps_its_passwords_and_refuses_another_mode(tmp_path):
    # KRaft keeps the SCRAM credentials it was formatted with: new ones would lock every user out.
    sec = tmp_path / "data" / "security"
    first = material_for(sec, "sasl_ssl")
    secrets_before = Path(first["secrets"]).read_text()
    ca_before = Path(first["ca"]).read_bytes()
    again = material_for(sec, "sasl_ssl")
    assert again == first
    assert Path(again["secrets"]).read_text() == secrets_before and Path(again["ca"]).read_bytes() == ca_before
    with pytest.raises(StackError, match=r"secured as sasl_ssl, not mtls: give --security sasl_ssl, or a new --data-dir"):
        material_for(sec, "mtls")
