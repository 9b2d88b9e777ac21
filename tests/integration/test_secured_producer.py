"""The producer against the secured local stack (sasl_ssl and mtls): real broker, real TLS, real SCRAM.

With the stack's own producer.properties (--client-config) it sends and registers its schema; with
a wrong password, a user without the ACLs, or no client config at all it ends within 30 s with
exit 1 and one line that names the cause, and no password shows in its output or its argv.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.stacks import SECURED_MODES, own_pipeline
from txpipe_tools import local_stack
from txpipe_tools.local_stack.security import _certificate, all_secrets, read_properties

# Each mode on the session's secured stack of that mode (tests/conftest.py), with a pipeline of its own.
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("security", SECURED_MODES, indirect=True)]

# The bound for every refusal.
REFUSAL_S = 30.0


@pytest.fixture(scope="module")
def secured(secured_session_stack):
    return own_pipeline(secured_session_stack)


@pytest.fixture
def pipeline(secured):
    """A random topic and group, granted to the producer and consumer users."""
    topic, group = f"secured-{secrets.token_hex(4)}", f"txpipe-{secrets.token_hex(4)}"
    local_stack.grant_pipeline(topic, group, run_dir=secured.run_dir)
    return topic


def run_producer(stack, topic: str, *extra: str, config: str | Path | None = None, timeout: float = 120):
    argv = [sys.executable, "-m", "txpipe.producer", "-b", stack.bootstrap_servers, "-s", stack.schema_registry_url]
    argv += ["-t", topic, "-q", *extra]
    if config is not None:
        argv += ["--client-config", str(config)]
    t0 = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.monotonic() - t0
    for password in all_secrets(stack.files):
        assert password not in result.stdout + result.stderr, "a generated password is in the producer's output"
        assert password not in " ".join(argv), "a generated password is in the producer's argv"
    return result, elapsed


def error_lines(result) -> list[str]:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    print(*lines, sep="\n")  # shown with -s or on a failure: the exact wording a user gets
    return lines


def write_config(props: dict[str, str], path: Path) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def refused(stack, topic: str, *extra: str, config: str | Path | None = None) -> tuple[list[str], str]:
    """Ten rows sent with ``config``: the run must end with exit 1 within REFUSAL_S; its error lines and stderr."""
    result, elapsed = run_producer(stack, topic, "-n", "10", *extra, config=config)
    assert result.returncode == 1, result.stderr
    assert elapsed < REFUSAL_S
    return error_lines(result), result.stderr


def test_the_producer_sends_with_the_stacks_client_config(secured, pipeline, tmp_path):
    truth = tmp_path / "truth.json"
    result, _ = run_producer(
        secured, pipeline, "-n", "200", "--ground-truth", str(truth), config=secured.files["files"]["producer"]
    )
    assert result.returncode == 0, result.stderr
    assert f"topic={pipeline} sent=200 delivered=200 failed=0" in result.stdout
    assert json.loads(truth.read_text())["delivered"] == 200


def test_a_wrong_password_or_certificate_ends_at_once(secured, pipeline, tmp_path):
    props = read_properties(secured.files["files"]["producer"])
    if secured.mode == "sasl_ssl":
        props["sasl.password"] = "not-" + props["sasl.password"]
        cause = "Kafka authentication failed"
    else:  # the right name on a certificate the stack's CA never signed
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
             "-subj", "/CN=txpipe-producer", "-days", "1"],
            cwd=tmp_path, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        props["ssl.certificate.location"] = str(tmp_path / "c.pem")
        props["ssl.key.location"] = str(tmp_path / "k.pem")
        cause = "Kafka TLS failure"
    config = write_config(props, tmp_path / "wrong.properties")
    lines, stderr = refused(secured, pipeline, config=config)
    assert len(lines) == 1 and cause in lines[0], stderr


@pytest.mark.parametrize(("role", "exists"), [("nobody", False), ("consumer", False), ("nobody", True), ("consumer", True)])
def test_a_user_without_the_acls_is_refused_naming_the_topic(secured, pipeline, role, exists):
    if exists:  # the producer's user creates it: then the refusal is of DESCRIBE or WRITE, not CREATE
        made, _ = run_producer(secured, pipeline, "-n", "1", config=secured.files["files"]["producer"])
        assert made.returncode == 0, made.stderr
    config = secured.files["files"]["librdkafka"][role]
    lines, stderr = refused(secured, pipeline, config=config)
    assert len(lines) == 1 and "not authorized to" in lines[0] and repr(pipeline) in lines[0], stderr
    if exists and role == "consumer":  # it may read the topic, not write it
        assert lines[0].startswith("error: not authorized to WRITE"), lines


def test_no_client_config_against_the_secured_listener_fails_with_a_hint(secured, pipeline):
    lines, stderr = refused(secured, pipeline)
    assert len(lines) == 1 and "--client-config" in lines[0], stderr


def test_registry_credentials_are_checked_without_retrying(secured, pipeline, tmp_path):
    props = read_properties(secured.files["files"]["producer"])
    user, _, password = props["schema.registry.basic.auth.user.info"].partition(":")
    props["schema.registry.basic.auth.user.info"] = f"{user}:not-{password}"
    config = write_config(props, tmp_path / "wrong-registry.properties")
    lines, stderr = refused(secured, pipeline, "--registry-wait", "60", config=config)
    assert len(lines) == 1 and "HTTP 401" in lines[0] and "basic.auth.user.info" in lines[0], stderr


def test_an_untrusted_registry_certificate_is_not_retried(secured, pipeline, tmp_path):
    props = read_properties(secured.files["files"]["producer"])
    del props["schema.registry.ssl.ca.location"]  # the registry's certificate is signed by the stack's own CA
    config = write_config(props, tmp_path / "no-registry-ca.properties")
    lines, stderr = refused(secured, pipeline, "--registry-wait", "60", config=config)
    assert len(lines) == 1 and "schema registry TLS failure" in lines[0], stderr
    assert "schema.registry.ssl.ca.location" in lines[0]


def _other_ca(tmp_path: Path) -> Path:
    """A CA certificate that signed nothing of the stack's."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt",
         "-subj", "/CN=not the stack's CA", "-days", "1"],
        cwd=tmp_path, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return tmp_path / "other-ca.crt"


def test_brokers_signed_by_an_untrusted_ca_end_it_at_once(secured, pipeline, tmp_path):
    props = read_properties(secured.files["files"]["producer"])
    props["ssl.ca.location"] = str(_other_ca(tmp_path))
    config = write_config(props, tmp_path / "other-ca.properties")
    lines, stderr = refused(secured, pipeline, config=config)
    assert len(lines) == 1 and "Kafka TLS failure" in lines[0], stderr


def test_an_unknown_user_is_refused_with_one_line(secured, pipeline, tmp_path):
    props = read_properties(secured.files["files"]["producer"])
    if secured.mode == "sasl_ssl":  # a name the brokers hold no SCRAM credentials for: authentication fails
        props["sasl.username"] = "txpipe-stranger"
        cause = "Kafka authentication failed"
    else:  # a certificate from the stack's own CA for a name no ACL grants anything: authorization fails
        material = tmp_path / "stranger"
        material.mkdir()
        for name in ("ca.crt", "ca.key"):
            shutil.copy(Path(secured.files["dir"]) / name, material / name)
        _certificate(material, "txpipe-stranger", server=False)
        props["ssl.certificate.location"] = str(material / "txpipe-stranger.crt")
        props["ssl.key.location"] = str(material / "txpipe-stranger.key")
        cause = "not authorized to"
    config = write_config(props, tmp_path / "stranger.properties")
    lines, stderr = refused(secured, pipeline, config=config)
    assert len(lines) == 1 and cause in lines[0], stderr
