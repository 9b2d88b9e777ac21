"""Reading docker/docker-compose*.yml as the tests need it: services, environments, the brokers' settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

try:
    import yaml
except ImportError as exc:  # a failure, not a skip: the compose checks must run
    raise ImportError("PyYAML parses the compose files: pip install -r requirements-dev.txt (PyYAML==6.0.4)") from exc

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_FILE = ROOT / "docker" / "docker-compose.yml"
SECURE_CLUSTER_FILE = ROOT / "docker" / "docker-compose-secure.yml"
KAFKA_SERVICES = ("kafka-1", "kafka-2", "kafka-3")

# What the apache/kafka image does with its environment: every KAFKA_* variable but these becomes a
# server.properties entry (KAFKA_FOO_BAR -> foo.bar, ___ -> -, __ -> _). KAFKA_HEAP_OPTS is the
# start script's JVM flag, not a broker setting.
IMAGE_ENV_EXCLUDES = {
    "KAFKA_VERSION",
    "KAFKA_HEAP_OPTS",
    "KAFKA_HEAP_OPT",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
}


def load_compose(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), f"{path}: no services"
    return data


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def server_properties(env: dict[str, str]) -> dict[str, str]:
    """The server.properties the apache/kafka image renders from a service's environment."""
    props = {}
    for key, value in env.items():
        if not key.startswith("KAFKA_") or key in IMAGE_ENV_EXCLUDES:
            continue
        name = key[len("KAFKA_") :].lower().replace("___", "-").replace("__", "\0").replace("_", ".").replace("\0", "_")
        # Compose interpolation with the defaults (${VAR:-default}); $$ is a literal $.
        props[name] = re.sub(r"(?<!\$)\$\{\w+:-([^}]*)\}", r"\1", value).replace("$$", "$")
    return props
