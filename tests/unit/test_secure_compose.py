"""docker/docker-compose-secure.yml and the local secured stack (``--security sasl_ssl``) are one set of
security settings: the same authorizer and super user, SCRAM-SHA-512 over TLS for every client, nothing
in plaintext, the registry behind the same login and roles, and the same ACLs (acls.pipeline_grants).

The compose cluster is written as the image's KAFKA_* variables and a shell script; these checks are
what keep it one fact with src/txpipe_tools/local_stack (security.py, acls.py). That Kafka 4.2.2
accepts each node's settings is checked in tests/container/test_containers.py.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from tests.support.compose import KAFKA_SERVICES, SECURE_CLUSTER_FILE, environment, load_compose, server_properties
from txpipe_tools.local_stack import security as sec
from txpipe_tools.local_stack.acls import pipeline_grants

# The broker settings that decide who may do what: written the same in both.
SAME_AS_LOCAL_STACK = (
    "authorizer.class.name",
    "super.users",
    "allow.everyone.if.no.acl.found",
    "ssl.principal.mapping.rules",
    "ssl.endpoint.identification.algorithm",
)


@pytest.fixture(scope="module")
def services():
    return load_compose(SECURE_CLUSTER_FILE)["services"]


@pytest.fixture(scope="module")
def local_info(tmp_path_factory):
    """What the local stack's sasl_ssl settings are made from (placeholder passwords, no files made)."""
    folder = tmp_path_factory.mktemp("security")
    secrets_file = folder / "secrets.json"
    secrets_file.write_text(
        json.dumps({"kafka": {u: "placeholder" for u in sec.USERS}, "registry": {u: "placeholder" for u in sec.REGISTRY_ROLES}})
    )
    return {"mode": "sasl_ssl", "dir": str(folder), "secrets": str(secrets_file)}


def nodes(services) -> list[dict[str, str]]:
    return [server_properties(environment(services[name])) for name in KAFKA_SERVICES]


def protocol_map(props: dict[str, str]) -> dict[str, str]:
    return dict(pair.split(":", 1) for pair in props["listener.security.protocol.map"].split(","))


def script(services, name: str) -> str:
    """A one-shot service's shell script as the shell gets it: $$ unescaped, continuation lines joined."""
    return services[name]["command"][0].replace("$$", "$").replace("\\\n", " ")


def test_the_brokers_authorize_as_the_local_stack_does(services, local_info):
    local = sec.broker_properties(local_info)
    for props in nodes(services):
        for setting in SAME_AS_LOCAL_STACK:
            assert props.get(setting) == local[setting], f"node {props['node.id']}: {setting}"


def test_every_client_listener_is_scram_over_tls_and_nothing_is_plaintext(services):
    for props in nodes(services):
        mapping = protocol_map(props)
        assert set(mapping.values()) <= {"SSL", "SASL_SSL"}, mapping
        assert mapping[props["controller.listener.names"]] == "SSL"
        assert mapping[props["inter.broker.listener.name"]] == "SSL"
        assert props["ssl.client.auth"] == "required", "a listener without SASL must ask for a client certificate"
        assert props["sasl.enabled.mechanisms"] == sec.SCRAM_MECHANISM
        advertised = {entry.split("://", 1)[0] for entry in props["advertised.listeners"].split(",")}
        for name in advertised:
            if name == props["inter.broker.listener.name"]:
                continue
            assert mapping[name] == "SASL_SSL", f"clients reach {name}, which is {mapping[name]}"
            assert props[f"listener.name.{name.lower()}.ssl.client.auth"] == "none"
            jaas = props[f"listener.name.{name.lower()}.{sec.SCRAM_MECHANISM.lower()}.sasl.jaas.config"]
            assert "ScramLoginModule" in jaas and "password" not in jaas
        assert not re.search(r":9093(,|$)", props["advertised.listeners"]), "controllers are not advertised to clients"


def test_no_secret_is_written_in_the_file(services):
    for props in nodes(services):
        for key, value in props.items():
            if "password" in key:
                assert value.startswith("${file:"), f"{key} must come from a file, not the compose file"
    text = SECURE_CLUSTER_FILE.read_text(encoding="utf-8").replace("$$", "$")
    # Every password= in the scripts is filled in at run time (a printf %s, $(cat file), $variable).
    literal = [m.group(0) for m in re.finditer(r"password=(?![%$\\\"]|\$)\S+", text)]
    assert not literal, f"passwords written in the file: {literal}"
    for name, svc in services.items():
        for key, value in environment(svc).items():
            assert not re.search(r"password|secret", key, re.I) or value.startswith("$${file:"), f"{name}: {key}"


def test_the_registry_is_behind_the_local_stacks_login_and_roles(services, local_info):
    flags, _ = sec.registry_properties(local_info, 8081)
    env = environment(services["schema-registry"])
    for flag in flags:
        key, value = flag.removeprefix("-D").split("=", 1)
        if key in ("quarkus.http.ssl.certificate.files", "quarkus.http.ssl.certificate.key-files", "quarkus.http.port"):
            continue  # PEM files and the port: the compose registry uses a PKCS12 key store and its own port
        name = key.upper().replace(".", "_").replace("-", "_")
        if name == "QUARKUS_HTTP_SSL_PORT":
            assert env[name] == "8081"
            continue
        assert env.get(name) == value, f"{name} (the local stack's -D{key}={value})"
    certs = script(services, "certs")
    for user, role in sec.REGISTRY_ROLES.items():
        assert f"quarkus.security.users.embedded.roles.{user}={role}" in certs


def _acl_lines(text: str) -> list[list[str]]:
    return [shlex.split(line.strip())[1:] for line in text.splitlines() if line.strip().startswith("acl --")]


def _operation(cli_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cli_name).upper()  # IdempotentWrite -> IDEMPOTENT_WRITE


def test_secure_setup_grants_exactly_the_local_stacks_acls(services):
    granted = set()
    for args in _acl_lines(script(services, "secure-setup")):
        principal = args[args.index("--allow-principal") + 1].removeprefix("User:")
        operations = frozenset(_operation(args[i + 1]) for i, a in enumerate(args) if a == "--operation")
        pattern = "PREFIXED" if "--resource-pattern-type" in args else "LITERAL"
        for i, a in enumerate(args):
            resource = {"--topic": "TOPIC", "--group": "GROUP", "--transactional-id": "TRANSACTIONAL_ID"}.get(a)
            if resource:
                granted.add((principal, resource, args[i + 1], pattern, operations))
            elif a == "--cluster":
                granted.add((principal, "CLUSTER", "kafka-cluster", "LITERAL", operations))
    wanted = {(g.principal, g.resource, g.name, g.pattern, frozenset(g.operations)) for g in pipeline_grants("$T", "$G")}
    assert granted == wanted
    # The SCRAM users: made by secure-setup from the files certs wrote (SCRAM-SHA-512, as the local stack's).
    setup, certs = script(services, "secure-setup"), script(services, "certs")
    assert f"for user in {sec.PRODUCER_USER} {sec.CONSUMER_USER}; do" in setup
    assert "scram-$user.properties" in setup and '"/tls/scram-txpipe-$user.properties"' in certs
    assert f"{sec.SCRAM_MECHANISM}=iterations=" in certs


def test_published_on_loopback_in_its_own_project_and_network(services):
    compose = load_compose(SECURE_CLUSTER_FILE)
    assert compose["name"] == "txpipe-secure" and compose["networks"]["default"]["name"] == "txpipe_secure"
    for name, svc in services.items():
        assert "container_name" not in svc, name
        for port in svc.get("ports") or []:
            assert str(port).startswith("${PUBLISH_ADDRESS:-127.0.0.1}:"), f"{name}: {port} is not on 127.0.0.1 by default"
    for name in ("certs", "secure-setup"):
        assert services[name]["restart"] == "no" and "ports" not in services[name]
    for name in KAFKA_SERVICES:
        assert services[name]["depends_on"]["certs"]["condition"] == "service_completed_successfully"
    assert {d: s["condition"] for d, s in services["secure-setup"]["depends_on"].items()} == dict.fromkeys(
        KAFKA_SERVICES, "service_healthy"
    )
    assert services["schema-registry"]["depends_on"]["secure-setup"]["condition"] == "service_completed_successfully"
