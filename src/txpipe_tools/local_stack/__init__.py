"""A real local Kafka broker and a Confluent-compatible schema registry, without Docker.

Standard library only: this runs before any virtualenv exists.

    PYTHONPATH=src python3 -m txpipe_tools.local_stack install
    PYTHONPATH=src python3 -m txpipe_tools.local_stack up [--kafka-port 9092] [--controller-port 9093]
                                                          [--registry-port 8081] [--data-dir DIR]
                                                          [--nodes 1|3] [--registry-storage memory|file]
                                                          [--security plaintext|sasl_ssl|mtls] [-t TOPIC -g GROUP]
    PYTHONPATH=src python3 -m txpipe_tools.local_stack grant -t TOPIC -g GROUP   (secured stack: one more pipeline)
    PYTHONPATH=src python3 -m txpipe_tools.local_stack status
    PYTHONPATH=src python3 -m txpipe_tools.local_stack kill-node ID | start-node ID
    PYTHONPATH=src python3 -m txpipe_tools.local_stack stop-registry | start-registry
    PYTHONPATH=src python3 -m txpipe_tools.local_stack down

What it runs:

* Apache Kafka 4.2.2 (jars fetched by Maven with local_stack/kafka/pom.xml into
  .stack/kafka/libs), one KRaft node in combined broker+controller mode on 127.0.0.1, on the
  default JDK (17 or newer). With --nodes 3: three combined nodes (node i on
  kafka_port+2(i-1) / controller_port+2(i-1) unless given explicitly), all three controller
  voters, default replication factor 3, min.insync.replicas 2, unclean leader election off,
  internal topics (offsets, transaction state) RF 3 / min ISR 2. ``kill_node`` (SIGKILL) and
  ``start_node`` let fault tests take one node away and bring it back.
* Apicurio Registry 3.3.3 (its prebuilt Quarkus distribution, fetched and unpacked by Maven with
  local_stack/registry/pom.xml into .stack/registry/app), in-memory H2 storage, on 127.0.0.1.
  It needs a JDK 21 or newer: $TXPIPE_REGISTRY_JAVA_HOME, $JAVA_HOME, the java on PATH, or the
  newest JDK under /usr/lib/jvm, whichever first is new enough.
  Confluent clients use the base URL http://127.0.0.1:<port>/apis/ccompat/v7.

* ``--security sasl_ssl|mtls`` (see security.py and docs/security.md): the stack's own CA and
  certificates, SCRAM-SHA-512 users or client certificates, the standard authorizer with
  least-privilege ACLs per app (acls.py), the registry on HTTPS behind basic auth. The apps' client
  properties files are in <data dir>/security (``security_files()``); they need the venv
  (confluent-kafka creates the ACLs).

Everything lives in .stack/ at the repository root (logs in .stack/logs, state in
.stack/state.json). Kafka data goes to a temporary folder (removed by ``down``) unless
--data-dir is given (then kept).

From Python (pytest fixtures)::

    from txpipe_tools import local_stack
    stack = local_stack.up()          # -> Stack(bootstrap_servers=..., schema_registry_url=...)
    ...
    local_stack.down()

Each started process's command line is kept in state.json, so ``start_node`` and
``start_registry`` run exactly the same command again.

The parts, one job each: fetch (Maven install), jdk (finding java), processes (PIDs, state.json,
start/stop, probes), kraft (the nodes' layout, properties, storage, readiness), registry (its
command and readiness), stack (up/down/status and the fault helpers), cli (the command line).
"""

from txpipe_tools.local_stack.base import DEFAULT_RUN_DIR, STACK_DIR, StackError, log_dir
from txpipe_tools.local_stack.fetch import APICURIO_VERSION, KAFKA_LIBS, KAFKA_VERSION, REGISTRY_APP, install
from txpipe_tools.local_stack.jdk import find_java
from txpipe_tools.local_stack.kraft import SUPPORTED_NODES, KafkaNode, kafka_nodes, server_properties
from txpipe_tools.local_stack.processes import pid_alive, tagged_pids
from txpipe_tools.local_stack.security import MODES as SECURITY_MODES
from txpipe_tools.local_stack.security import read_properties
from txpipe_tools.local_stack.stack import (
    Stack,
    down,
    grant_pipeline,
    kill_node,
    security_files,
    start_node,
    start_registry,
    status,
    stop_registry,
    up,
)

__all__ = [
    "APICURIO_VERSION",
    "DEFAULT_RUN_DIR",
    "KAFKA_LIBS",
    "KAFKA_VERSION",
    "REGISTRY_APP",
    "SECURITY_MODES",
    "STACK_DIR",
    "SUPPORTED_NODES",
    "KafkaNode",
    "Stack",
    "StackError",
    "down",
    "find_java",
    "grant_pipeline",
    "install",
    "kafka_nodes",
    "kill_node",
    "log_dir",
    "pid_alive",
    "read_properties",
    "security_files",
    "server_properties",
    "start_node",
    "start_registry",
    "status",
    "stop_registry",
    "tagged_pids",
    "up",
]
