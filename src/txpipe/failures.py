"""Names the cause of a Kafka or registry failure in one line: authentication, TLS trust, authorization.

A secured cluster refuses a misconfigured client in ways librdkafka keeps retrying (it reports them
through error_cb and goes on); these turn them into one line that says which setting to fix, so the
producer ends at once instead of waiting out its timeouts with "cannot reach Kafka".
"""

from __future__ import annotations

import ssl

from confluent_kafka import KafkaError
from confluent_kafka.schema_registry.error import SchemaRegistryError

from txpipe.client_config import redact

CREDENTIALS_HINT = "check sasl.username/sasl.password (or the client certificate) in --client-config"
TLS_HINT = (
    "check ssl.ca.location (the CA of the brokers' certificates) and ssl.certificate.location/ssl.key.location in --client-config"
)
PROTOCOL_HINT = "the listener may want TLS or SASL: set security.protocol and its credentials with --client-config"


def kafka_refusal(err: KafkaError) -> str | None:
    """The one-line cause of an error no retry will cure (authentication, TLS), or None."""
    code = err.code()
    if code in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
        return f"Kafka authentication failed: {err.str()}; {CREDENTIALS_HINT}"
    if code == KafkaError._SSL:
        return f"Kafka TLS failure: {err.str()}; {TLS_HINT}"
    text = err.str()
    # A broker that refuses the client's certificate ends the handshake with a TLS alert, which
    # librdkafka reports as a transport error (and retries for ever).
    if code == KafkaError._TRANSPORT and ("SSL alert" in text or "tls alert" in text or "certificate verify failed" in text):
        return f"Kafka TLS failure (the handshake was refused): {text}; {TLS_HINT}"
    return None


class ErrorWatch:
    """An error_cb for every Kafka client of the run: keeps what the clients report between calls."""

    def __init__(self) -> None:
        self.errors: list[KafkaError] = []

    def __call__(self, err: KafkaError) -> None:
        self.errors.append(err)

    def refusal(self) -> str | None:
        """The first authentication or TLS failure reported so far."""
        for err in self.errors:
            line = kafka_refusal(err)
            if line:
                return line
        return None

    def explain(self, what: str, last: KafkaError) -> str:
        """Why ``what`` failed: a refusal if one was seen, else the most telling transport error."""
        refusal = kafka_refusal(last) or self.refusal()
        if refusal:
            return refusal
        for err in [last, *self.errors]:
            text = err.str()
            # librdkafka's own guess when a plaintext client meets a TLS listener (the server drops the connection).
            if "security.protocol" in text or "SSL listener" in text:
                return f"{what}: {text}; {PROTOCOL_HINT}"
        transport = [e for e in self.errors if e.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)]
        if transport:
            return f"{what}: {transport[-1].str()} (last: {last.str()}); if the cluster is secured, {PROTOCOL_HINT}"
        return f"{what}: {last.str()}"


def authorization(err: KafkaError, operation: str, resource: str) -> str | None:
    """The one-line cause of an authorization refusal of ``operation`` on ``resource``, or None."""
    if err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
        return (
            f"not authorized to {operation} {resource} (TOPIC_AUTHORIZATION_FAILED): grant the producer's user {operation} on it"
        )
    if err.code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
        return (
            f"not authorized to {operation} {resource} (CLUSTER_AUTHORIZATION_FAILED): "
            "the idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on the topic"
        )
    return None


def registry_refusal(exc: BaseException, subject: str) -> str | None:
    """The one-line cause of a registry failure no retry will cure (credentials, permission, TLS), or None."""
    if isinstance(exc, SchemaRegistryError):
        if exc.http_status_code == 401:
            return (
                f"schema registry refused the credentials for {subject} (HTTP 401): "
                "set schema.registry.basic.auth.user.info=USER:PASSWORD in --client-config"
            )
        if exc.http_status_code == 403:
            return (
                f"schema registry: the user may not register or read {subject} (HTTP 403): "
                "give the user of schema.registry.basic.auth.user.info the registry's developer role"
            )
        return None
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return (
                f"schema registry TLS failure: {redact(str(cause))}; "
                "set schema.registry.ssl.ca.location (and the client certificate keys, if it wants one) in --client-config"
            )
        cause = cause.__cause__ or cause.__context__
    return None
