"""The ACLs of the secured stack: what each app may do, granted through the Admin API as the broker's super user.

One pipeline is an input topic T and the consumer's application id G (its ``-g``). Topic grants
are LITERAL on purpose: the consumer's outputs are named ``T-totals`` and ``T-dlq``, so any
prefix that covered the producer's input topic would also let the producer write the totals (and
one covering the consumer's outputs would let it write the input). The resources the consumer
owns by name are PREFIXED ``G-`` (Kafka Streams' internal topics and transactional ids all start
with ``<application.id>-``). docs/security.md gives the same table as kafka-acls commands.

``up`` grants the pipeline it is given (default: topic ``transactions``, group
``txpipe-consumer``); ``grant_pipeline`` (and ``local_stack grant -t T -g G``) adds another, as
an operator would for each new deployment. Tests and the demo use random names and grant them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from txpipe_tools.local_stack.base import StackError
from txpipe_tools.local_stack.security import CONSUMER_USER, PRODUCER_USER, read_properties

DEFAULT_TOPIC = "transactions"
DEFAULT_GROUP = "txpipe-consumer"


class Grant(NamedTuple):
    principal: str  # user name (User:<name>)
    resource: str  # TOPIC, GROUP, TRANSACTIONAL_ID, CLUSTER
    name: str
    pattern: str  # LITERAL or PREFIXED
    operations: tuple[str, ...]


def pipeline_grants(topic: str, group: str) -> list[Grant]:
    """Least privilege for the producer and the consumer of one pipeline."""
    if not topic or not group:
        raise StackError("a pipeline needs a topic and a consumer group (application id)")
    p, c = PRODUCER_USER, CONSUMER_USER
    return [
        # The producer sends to the input topic and creates it when missing. WRITE on the topic
        # also allows the idempotent producer (Kafka 3.0+, KIP-679): no cluster IDEMPOTENT_WRITE.
        Grant(p, "TOPIC", topic, "LITERAL", ("WRITE", "DESCRIBE", "CREATE")),
        # The consumer reads the input topic ...
        Grant(c, "TOPIC", topic, "LITERAL", ("READ", "DESCRIBE", "DESCRIBE_CONFIGS")),
        # ... writes (and creates) its two output topics ...
        Grant(c, "TOPIC", f"{topic}-totals", "LITERAL", ("WRITE", "DESCRIBE", "CREATE", "DESCRIBE_CONFIGS")),
        Grant(c, "TOPIC", f"{topic}-dlq", "LITERAL", ("WRITE", "DESCRIBE", "CREATE", "DESCRIBE_CONFIGS")),
        # ... reads the totals back for its HTTP service (a reader without a group) ...
        Grant(c, "TOPIC", f"{topic}-totals", "LITERAL", ("READ",)),
        # ... owns everything named after its application id: changelog and repartition topics
        # (it purges the by-account one with deleteRecords: DELETE), its transactional ids,
        # and its consumer group.
        Grant(c, "TOPIC", f"{group}-", "PREFIXED", ("ALL",)),
        Grant(c, "TRANSACTIONAL_ID", f"{group}-", "PREFIXED", ("WRITE", "DESCRIBE")),
        Grant(c, "GROUP", group, "LITERAL", ("READ", "DESCRIBE")),
        # Exactly-once Streams: idempotent writes to its own topics, and it reads broker configs.
        Grant(c, "CLUSTER", "kafka-cluster", "LITERAL", ("IDEMPOTENT_WRITE", "DESCRIBE_CONFIGS")),
    ]


def librdkafka_admin_config(admin_file: str, bootstrap_servers: str) -> dict[str, str]:
    conf = {k: v for k, v in read_properties(admin_file).items() if not k.startswith("schema.registry.")}
    conf["bootstrap.servers"] = bootstrap_servers
    return conf


def create_acls(grants: list[Grant], admin_file: str, bootstrap_servers: str, timeout: float = 30.0) -> None:
    """Creates the ACL bindings (idempotent: Kafka keeps one copy of an existing binding)."""
    try:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import (
            AclBinding,
            AclOperation,
            AclPermissionType,
            AdminClient,
            ResourcePatternType,
            ResourceType,
        )
    except ImportError as e:  # the stack itself is stdlib-only; the secured modes need the venv
        raise StackError(f"the secured stack creates its ACLs with confluent-kafka, missing here ({e}); run `make setup`") from e
    conf: dict[str, str | int | float | bool] = dict(librdkafka_admin_config(admin_file, bootstrap_servers))
    admin = AdminClient(conf)
    bindings = [
        AclBinding(
            # confluent-kafka calls Kafka's CLUSTER resource type BROKER.
            ResourceType["BROKER" if g.resource == "CLUSTER" else g.resource],
            g.name,
            ResourcePatternType[g.pattern],
            f"User:{g.principal}",
            "*",
            AclOperation[op],
            AclPermissionType.ALLOW,
        )
        for g in grants
        for op in g.operations
    ]
    futures = admin.create_acls(bindings, request_timeout=timeout)
    for binding, fut in futures.items():
        try:
            fut.result(timeout=timeout)
        except KafkaException as e:
            raise StackError(f"creating ACL {binding} failed: {e}") from e


def describe(grants: list[Grant]) -> list[dict[str, Any]]:
    """The grants as plain data, for state.json."""
    return [g._asdict() for g in grants]
