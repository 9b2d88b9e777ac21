"""The secured stack's material: a CA, certificates, users, passwords and the client properties files.

``--security sasl_ssl``: the published (client) listener speaks SASL_SSL with SCRAM-SHA-512.
``--security mtls``: it speaks SSL with ``ssl.client.auth=required``; the principal is the
certificate's CN (``ssl.principal.mapping.rules``), so in both modes the apps are
``User:txpipe-producer`` and ``User:txpipe-consumer``.

Nothing is PLAINTEXT in the secured modes: the inter-broker traffic uses the client listener with
the broker's own user ``txpipe-broker`` (SCRAM in sasl_ssl, its certificate in mtls), and the KRaft
controller listener is SSL with client certificates required (SCRAM cannot authenticate there: the
credentials live in the metadata log the controllers serve). ``txpipe-broker`` is the only super
user; nobody is ANONYMOUS.

Everything is made at ``up`` into ``<data dir>/security`` (mode 0700, files 0600) and removed by
``down`` with the data dir. Secrets never go on a command line: the SCRAM users reach
``kafka-storage format`` through a java ``@argfile`` (the process's argv shows only ``@file``),
the broker reads its own password from server.properties, the registry its users from
``config/application.properties`` in its working directory.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

from txpipe_tools.local_stack.base import StackError

MODES = ("plaintext", "sasl_ssl", "mtls")
SCRAM_MECHANISM = "SCRAM-SHA-512"

BROKER_USER = "txpipe-broker"
PRODUCER_USER = "txpipe-producer"
CONSUMER_USER = "txpipe-consumer"
# Authenticates fine, holds no ACL: for negative tests.
NOBODY_USER = "txpipe-nobody"
USERS = (BROKER_USER, PRODUCER_USER, CONSUMER_USER, NOBODY_USER)
# Registry roles (Apicurio): the producer registers its schema, the consumer only reads.
REGISTRY_ROLES = {PRODUCER_USER: "sr-developer", CONSUMER_USER: "sr-readonly"}

# The certificate's subject is just CN=<user>; this maps it to the bare user name.
PRINCIPAL_MAPPING_RULES = "RULE:^CN=([^,]+)$/$1/,DEFAULT"
CLIENT_LISTENER = "CLIENT"

_ROLE_FILES = {"producer": PRODUCER_USER, "consumer": CONSUMER_USER, "admin": BROKER_USER, "nobody": NOBODY_USER}


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise StackError(f"security must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_secret(path: Path, text: str) -> None:
    """Writes ``text`` to a file only its owner can read (created 0600, never wider for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if not exe:
        raise StackError("openssl is not on PATH; the secured stack needs it to make its CA and certificates")
    proc = subprocess.run([exe, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if proc.returncode != 0:
        raise StackError(f"openssl {args[0]} failed: {proc.stdout[-2000:]}")


def _certificate(sec: Path, name: str, server: bool) -> None:
    """<name>.key (PKCS#8), <name>.crt signed by the CA, and <name>.pem (key + chain: a Java PEM keystore)."""
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{name}.key", cwd=sec)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}", "-out", f"{name}.csr", cwd=sec)
    ext = ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature,keyEncipherment"]
    # The broker's certificate serves the listeners and, as a client, the inter-broker and controller links.
    ext.append("extendedKeyUsage=serverAuth,clientAuth" if server else "extendedKeyUsage=clientAuth")
    if server:
        ext.append("subjectAltName=IP:127.0.0.1,DNS:localhost")
    (sec / f"{name}.ext").write_text("\n".join(ext) + "\n")
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "30", "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=sec,
    )  # fmt: skip
    for leftover in (f"{name}.csr", f"{name}.ext"):
        (sec / leftover).unlink()
    write_secret(sec / f"{name}.pem", (sec / f"{name}.key").read_text() + (sec / f"{name}.crt").read_text())
    os.chmod(sec / f"{name}.key", 0o600)


def material_for(sec: Path, mode: str) -> dict[str, Any]:
    """The material in ``sec`` when a kept data dir already holds it for ``mode``, else new material.

    KRaft keeps the SCRAM credentials it was formatted with (``format --ignore-formatted`` leaves a
    formatted log alone), so new passwords on a kept data dir would lock every user out."""
    secret_file = sec / "secrets.json"
    if not secret_file.is_file():
        return make_material(sec, mode)
    kept = (sec / "mode").read_text().strip() if (sec / "mode").is_file() else "unknown"
    if kept != mode:
        raise StackError(
            f"the data dir {sec.parent} was secured as {kept}, not {mode}: give --security {kept}, or a new --data-dir"
        )
    return {"mode": mode, "dir": str(sec), "ca": str(sec / "ca.crt"), "secrets": str(secret_file)}


def make_material(sec: Path, mode: str) -> dict[str, Any]:
    """Makes the CA, the certificates and the passwords in ``sec``; returns what state.json records
    about them (paths only, never a secret)."""
    _private_dir(sec)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-subj", "/CN=txpipe local stack CA",
             "-days", "30", "-sha256", "-out", "ca.crt", cwd=sec)  # fmt: skip
    os.chmod(sec / "ca.key", 0o600)
    _certificate(sec, BROKER_USER, server=True)
    if mode == "mtls":
        for user in (PRODUCER_USER, CONSUMER_USER, NOBODY_USER):
            _certificate(sec, user, server=False)
    passwords = {user: secrets.token_hex(16) for user in USERS} if mode == "sasl_ssl" else {}
    registry_passwords = {user: secrets.token_hex(16) for user in REGISTRY_ROLES}
    secret_file = sec / "secrets.json"
    write_secret(secret_file, json.dumps({"kafka": passwords, "registry": registry_passwords}, indent=2) + "\n")
    (sec / "mode").write_text(mode + "\n")
    info: dict[str, Any] = {"mode": mode, "dir": str(sec), "ca": str(sec / "ca.crt"), "secrets": str(secret_file)}
    return info


def load_secrets(info: dict[str, Any]) -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(Path(info["secrets"]).read_text())
    return data


def jaas(user: str, password: str) -> str:
    return f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{password}";'


# --------------------------------------------------------------------------------------------
# the broker


def broker_properties(info: dict[str, Any]) -> dict[str, str]:
    """The security part of every node's server.properties (the listeners themselves come from kraft)."""
    sec = Path(info["dir"])
    mode = info["mode"]
    client_protocol = "SASL_SSL" if mode == "sasl_ssl" else "SSL"
    props = {
        "listener.security.protocol.map": f"{CLIENT_LISTENER}:{client_protocol},CONTROLLER:SSL",
        "inter.broker.listener.name": CLIENT_LISTENER,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(sec / f"{BROKER_USER}.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(sec / "ca.crt"),
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.principal.mapping.rules": PRINCIPAL_MAPPING_RULES,
        "listener.name.controller.ssl.client.auth": "required",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{BROKER_USER}",
        "allow.everyone.if.no.acl.found": "false",
    }
    if mode == "sasl_ssl":
        password = load_secrets(info)["kafka"][BROKER_USER]
        lname = CLIENT_LISTENER.lower()
        props.update(
            {
                f"listener.name.{lname}.sasl.enabled.mechanisms": SCRAM_MECHANISM,
                "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
                f"listener.name.{lname}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": jaas(BROKER_USER, password),
                f"listener.name.{lname}.ssl.client.auth": "none",
            }
        )
    else:
        props[f"listener.name.{CLIENT_LISTENER.lower()}.ssl.client.auth"] = "required"
    return props


def scram_format_args(info: dict[str, Any]) -> list[str]:
    """``--add-scram`` arguments for ``kafka-storage format`` (secret: only ever written to an argfile)."""
    if info["mode"] != "sasl_ssl":
        return []
    out = []
    for user, password in load_secrets(info)["kafka"].items():
        out += ["--add-scram", f"{SCRAM_MECHANISM}=[name={user},password={password}]"]
    return out


# --------------------------------------------------------------------------------------------
# the clients


def _java_client(info: dict[str, Any], user: str, registry_password: str | None) -> dict[str, str]:
    sec = Path(info["dir"])
    props = {"ssl.truststore.type": "PEM", "ssl.truststore.location": str(sec / "ca.crt")}
    if info["mode"] == "sasl_ssl":
        password = load_secrets(info)["kafka"][user]
        scram = {"security.protocol": "SASL_SSL", "sasl.mechanism": SCRAM_MECHANISM, "sasl.jaas.config": jaas(user, password)}
        props = {**scram, **props}
    else:
        keystore = {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(sec / f"{user}.pem")}
        props = {"security.protocol": "SSL", **props, **keystore}
    if registry_password is not None:
        props["schema.registry.basic.auth.credentials.source"] = "USER_INFO"
        props["schema.registry.basic.auth.user.info"] = f"{user}:{registry_password}"
    props["schema.registry.ssl.truststore.type"] = "PEM"
    props["schema.registry.ssl.truststore.location"] = str(sec / "ca.crt")
    return props


def _librdkafka_client(info: dict[str, Any], user: str, registry_password: str | None) -> dict[str, str]:
    sec = Path(info["dir"])
    if info["mode"] == "sasl_ssl":
        password = load_secrets(info)["kafka"][user]
        props = {
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": SCRAM_MECHANISM,
            "sasl.username": user,
            "sasl.password": password,
            "ssl.ca.location": str(sec / "ca.crt"),
        }
    else:
        props = {
            "security.protocol": "SSL",
            "ssl.ca.location": str(sec / "ca.crt"),
            "ssl.certificate.location": str(sec / f"{user}.crt"),
            "ssl.key.location": str(sec / f"{user}.key"),
        }
    if registry_password is not None:
        props["schema.registry.basic.auth.user.info"] = f"{user}:{registry_password}"
    props["schema.registry.ssl.ca.location"] = str(sec / "ca.crt")
    return props


def render(props: dict[str, str], header: str) -> str:
    return f"# {header}\n" + "".join(f"{k}={v}\n" for k, v in props.items())


def write_client_files(info: dict[str, Any]) -> dict[str, Any]:
    """Writes the apps' properties files and returns their paths.

    Top level, in each app's own format: ``producer.properties`` (librdkafka keys: the Python
    producer), ``consumer.properties`` (Java client keys: the Scala consumer), ``admin.properties``
    (Java, the broker's super user, for operators and tests) and ``nobody.properties`` (Java, a user
    that authenticates but holds no ACL). ``java/`` and ``librdkafka/`` hold every role in both formats.
    """
    sec = Path(info["dir"])
    reg = load_secrets(info)["registry"]
    paths: dict[str, Any] = {"java": {}, "librdkafka": {}}
    for flavour, make in (("java", _java_client), ("librdkafka", _librdkafka_client)):
        folder = _private_dir(sec / flavour)
        for role, user in _ROLE_FILES.items():
            path = folder / f"{role}.properties"
            header = f"{role} ({user}), {flavour} keys, {info['mode']}; written by txpipe_tools.local_stack"
            write_secret(path, render(make(info, user, reg.get(user)), header))
            paths[flavour][role] = str(path)
    for role, flavour in (("producer", "librdkafka"), ("consumer", "java"), ("admin", "java"), ("nobody", "java")):
        shutil.copyfile(paths[flavour][role], sec / f"{role}.properties")
        os.chmod(sec / f"{role}.properties", 0o600)
        paths[role] = str(sec / f"{role}.properties")
    return paths


def read_properties(path: str | Path) -> dict[str, str]:
    """A .properties file as a dict (comments and blank lines skipped; ``key=value`` split at the first '=')."""
    out = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


# --------------------------------------------------------------------------------------------
# the registry


def registry_properties(info: dict[str, Any], port: int) -> tuple[list[str], str]:
    """The registry's non-secret ``-D`` flags and the text of its config/application.properties (secret)."""
    sec = Path(info["dir"])
    flags = [
        f"-Dquarkus.http.ssl-port={port}",
        "-Dquarkus.http.port=0",
        "-Dquarkus.http.insecure-requests=disabled",
        f"-Dquarkus.http.ssl.certificate.files={sec / (BROKER_USER + '.crt')}",
        f"-Dquarkus.http.ssl.certificate.key-files={sec / (BROKER_USER + '.key')}",
        "-Dquarkus.http.auth.basic=true",
        "-Dapicurio.auth.role-based-authorization=true",
        "-Dapicurio.auth.anonymous-read-access.enabled=false",
        "-Dquarkus.security.users.embedded.enabled=true",
        "-Dquarkus.security.users.embedded.plain-text=true",
    ]
    lines = ["# the registry's users; read by Quarkus from config/ in its working directory"]
    for user, password in load_secrets(info)["registry"].items():
        lines.append(f"quarkus.security.users.embedded.users.{user}={password}")
        lines.append(f"quarkus.security.users.embedded.roles.{user}={REGISTRY_ROLES[user]}")
    return flags, "\n".join(lines) + "\n"


def all_secrets(info: dict[str, Any]) -> list[str]:
    """Every generated password (for tests that grep logs and argv)."""
    data = load_secrets(info)
    return [*data["kafka"].values(), *data["registry"].values()]
