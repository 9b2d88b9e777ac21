"""The producer's client properties file (--client-config): one place for every client's security settings.

The file holds librdkafka keys (security.protocol, sasl.*, ssl.*, ...) for the producer and its
admin client, and ``schema.registry.*`` keys for the registry's HTTP client, prefix removed there
(``schema.registry.basic.auth.user.info``, ``schema.registry.ssl.ca.location``, ...). It is where
secrets go, so no message of this module ever shows a value: only file, line and key names.

Precedence, lowest first: the producer's built-in settings, the file, then ``-X`` (an ``-X`` key
that starts with ``schema.registry.`` goes to the registry client too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_PREFIX = "schema.registry."

# What confluent_kafka's SchemaRegistryClient takes (its _BaseRestClient pops these and refuses the
# rest), less "url", which is -s. Numbers there must be numbers, not the strings a file gives.
REGISTRY_TEXT_KEYS = frozenset(
    {
        "basic.auth.user.info",
        "ssl.ca.location",
        "ssl.certificate.location",
        "ssl.key.location",
        "ssl.key.password",
        "proxy",
    }
)
REGISTRY_NUMBER_KEYS = frozenset(
    {"timeout", "cache.capacity", "cache.latest.ttl.sec", "max.retries", "retries.wait.ms", "retries.max.wait.ms"}
)
# The Java serializers' way of saying "the credentials are in basic.auth.user.info" (or in the URL).
# The Python client has no such key: it uses basic.auth.user.info when given, so the value is only
# checked and the key dropped, and a file shared with a Java client works here as is.
CREDENTIALS_SOURCE = "basic.auth.credentials.source"
CREDENTIALS_SOURCES = ("USER_INFO", "URL")
# bearer.auth.* (OAuth) keys are passed through; the registry client checks their combination.
REGISTRY_BEARER_PREFIX = "bearer.auth."

_USERINFO_IN_URL = re.compile(r"(?<=//)[^/@\s]+@")


class ClientConfigError(ValueError):
    """A client config that cannot be used; the message names the file, line or key, never a value."""


@dataclass
class ClientSettings:
    """librdkafka keys for the Kafka clients, and the registry client's keys (prefix removed)."""

    kafka: dict[str, str] = field(default_factory=dict)
    registry: dict[str, str | int | float] = field(default_factory=dict)


def read_properties(path: Path) -> dict[str, str]:
    """``key=value`` lines of ``path``; ``#`` and ``!`` start comments; blank lines are skipped.

    A later key replaces an earlier one. Raises ClientConfigError naming the file and line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ClientConfigError(f"client config {path}: cannot be read: {reason}") from None
    props: dict[str, str] = {}
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            what = "no '=' (expected key=value)" if not sep else "no key before '='"
            raise ClientConfigError(f"client config {path}, line {line_no}: {what}")
        if any(c.isspace() for c in key):
            raise ClientConfigError(f"client config {path}, line {line_no}: the key has a space in it")
        props[key] = value.strip()
    return props


def split(props: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """librdkafka keys, and the ``schema.registry.*`` keys with the prefix removed."""
    kafka = {k: v for k, v in props.items() if not k.startswith(REGISTRY_PREFIX)}
    registry = {k[len(REGISTRY_PREFIX) :]: v for k, v in props.items() if k.startswith(REGISTRY_PREFIX)}
    return kafka, registry


def registry_settings(raw: dict[str, str], where: str) -> dict[str, str | int | float]:
    """The registry keys as SchemaRegistryClient takes them; an unknown key is refused by name."""
    out: dict[str, str | int | float] = {}
    for key, value in raw.items():
        full = REGISTRY_PREFIX + key
        if key == "url":
            raise ClientConfigError(f"{where}: {full} is not taken here: give the registry URL with -s/--schema-registry")
        if key == CREDENTIALS_SOURCE:
            if value.upper() not in CREDENTIALS_SOURCES:
                raise ClientConfigError(f"{where}: {full} must be one of {', '.join(CREDENTIALS_SOURCES)}")
            continue
        if key in REGISTRY_TEXT_KEYS or key.startswith(REGISTRY_BEARER_PREFIX):
            out[key] = value
        elif key in REGISTRY_NUMBER_KEYS:
            try:
                number = float(value)
            except ValueError:
                raise ClientConfigError(f"{where}: {full} must be a number") from None
            out[key] = int(number) if number.is_integer() and key != "timeout" else number
        else:
            known = sorted({*REGISTRY_TEXT_KEYS, *REGISTRY_NUMBER_KEYS, CREDENTIALS_SOURCE})
            raise ClientConfigError(
                f"{where}: unknown registry setting {full} (known: {', '.join(REGISTRY_PREFIX + k for k in known)}, "
                f"{REGISTRY_PREFIX}{REGISTRY_BEARER_PREFIX}*)"
            )
    if "basic.auth.user.info" in out and ":" not in str(out["basic.auth.user.info"]):
        raise ClientConfigError(f"{where}: {REGISTRY_PREFIX}basic.auth.user.info must be USER:PASSWORD")
    return out


def load(path: Path | None, extra: Iterable[str] = ()) -> ClientSettings:
    """The settings of ``path`` (if any) with the ``-X KEY=VALUE`` items over them."""
    file_props = read_properties(path) if path is not None else {}
    x_props: dict[str, str] = {}
    for item in extra:
        key, _, value = item.partition("=")
        x_props[key.strip()] = value.strip()
    file_kafka, file_registry = split(file_props)
    x_kafka, x_registry = split(x_props)
    registry = {
        **registry_settings(file_registry, f"client config {path}"),
        **registry_settings(x_registry, "-X"),
    }
    return ClientSettings(kafka={**file_kafka, **x_kafka}, registry=registry)


def redact(text: str) -> str:
    """``text`` with any ``user:password@`` of a URL in it replaced by ``***@``."""
    return _USERINFO_IN_URL.sub("***@", text)
