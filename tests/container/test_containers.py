"""The container deliverables: docker/Dockerfile, the two compose files, and the images end to end.

Static part: the compose files and the Dockerfile are parsed and checked against the contract the
README documents (service names, the brief's flags, network, healthchecks, image names, scaling).

End-to-end part: with Docker if a Docker engine answers, else podman, it builds the stand-in
base images (tools/container/base-images.sh: no Docker Hub here), builds both targets with them,
records build times and image sizes in .stack/container-images.json, starts the real local stack
(Kafka + schema registry on loopback), runs the producer image then the consumer image with host
networking, and checks every account's last total the consumer prints against the producer's
ground truth.

Env: TXPIPE_CONTAINER_BASE=upstream builds on the Dockerfile's default upstream base images
instead of the stand-ins (a machine that can pull them).
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.container.conftest import CONSUMER_IMAGE, PRODUCER_IMAGE
from tests.support.compose import SECURE_CLUSTER_FILE, environment, load_compose, server_properties
from tests.support.product import PRODUCT_MODULES
from txpipe_tools import local_stack, verify
from txpipe_tools.consumer_runner import JVM_OPTIONS_FILE, LINE

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
CLUSTER_FILE = DOCKER / "docker-compose.yml"
APPS_FILE = DOCKER / "docker-compose-prod-cons.yml"

NETWORK = "docker_default"
KAFKA_SERVICES = ("kafka-1", "kafka-2", "kafka-3")


# ---------------------------------------------------------------------------------------------
# Helpers


def command_list(service: dict) -> list[str]:
    cmd = service.get("command")
    if isinstance(cmd, str):
        return cmd.split()
    assert isinstance(cmd, list), f"command must be a list or string, got {cmd!r}"
    return [str(c) for c in cmd]


def flag_value(args: list[str], flag: str) -> str | None:
    """The value after ``flag`` in an argument list, or None."""
    for i, a in enumerate(args[:-1]):
        if a == flag:
            return args[i + 1]
    return None


def dockerignore_matcher(lines: list[str]):
    """Docker's .dockerignore semantics, enough for our patterns: last match wins, ``!`` re-includes,
    a pattern matching a parent directory matches everything below it."""
    rules = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        rules.append((re.compile(regex + r"\Z"), negate))

    def ignored(path: str) -> bool:
        parts = path.split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        verdict = False
        for regex, negate in rules:
            if any(regex.match(c) for c in candidates):
                verdict = not negate
        return verdict

    return ignored


# ---------------------------------------------------------------------------------------------
# (a) Static checks


def test_cluster_compose_contract():
    compose = load_compose(CLUSTER_FILE)
    services = compose["services"]
    assert set(services) == {*KAFKA_SERVICES, "registry-topics", "schema-registry"}

    assert compose["networks"]["default"]["name"] == NETWORK
    for name, svc in services.items():
        assert "container_name" not in svc, f"{name}: container_name would break a second project"
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            wanted = "service_completed_successfully" if dep == "registry-topics" else "service_healthy"
            assert spec.get("condition") == wanted, f"{name} -> {dep}: not {wanted}"
        if name == "registry-topics":
            # One-shot: creates the registry's topics once the cluster is healthy, then exits.
            assert svc["restart"] == "no" and set(svc["depends_on"]) == set(KAFKA_SERVICES) and "ports" not in svc
            assert all(t in " ".join(svc["command"]) for t in ("kafkasql-journal", "kafkasql-snapshots", "registry-events"))
            continue
        hc = svc.get("healthcheck")
        assert hc and hc.get("test") and not hc.get("disable"), f"{name}: no healthcheck"

    voters = set()
    for name in KAFKA_SERVICES:
        svc = services[name]
        assert svc["image"] == "${KAFKA_IMAGE:-apache/kafka:4.2.2}", "upstream by default, a stand-in by KAFKA_IMAGE"
        for port in svc["ports"]:
            assert str(port).startswith("${PUBLISH_ADDRESS:-127.0.0.1}:"), f"{name}: {port} is not on 127.0.0.1 by default"
        env = environment(svc)
        assert "broker" in svc["networks"]["default"]["aliases"], f"{name}: no 'broker' alias"
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        assert env["CLUSTER_ID"], "KRaft needs a cluster id"
        voters.add(env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
        # RF 3 and min ISR 2 for app topics and the internal ones.
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        # Reachable in the network on 9092 under its own name, and from the host.
        advertised = env["KAFKA_ADVERTISED_LISTENERS"]
        assert f"://{name}:9092" in advertised
        assert "://localhost:" in advertised and svc.get("ports"), f"{name}: not reachable from the host"
        assert "9093" not in advertised, "controllers are not advertised to clients"
    assert len(voters) == 1, "all nodes must agree on the quorum"
    assert sorted(v.split("@")[0] for v in voters.pop().split(",")) == ["1", "2", "3"]
    assert len({environment(services[n])["KAFKA_NODE_ID"] for n in KAFKA_SERVICES}) == 3
    assert len({environment(services[n])["CLUSTER_ID"] for n in KAFKA_SERVICES}) == 1

    registry = services["schema-registry"]
    assert registry["image"] == "${REGISTRY_IMAGE:-apicurio/apicurio-registry:3.3.3}"
    for port in registry["ports"]:
        assert str(port).startswith("${PUBLISH_ADDRESS:-127.0.0.1}:"), f"registry: {port} is not on 127.0.0.1 by default"
    # Schemas in the cluster (kafkasql): a restarted registry still serves the ids the records carry.
    assert environment(registry)["APICURIO_STORAGE_KIND"] == "kafkasql"
    assert set(environment(registry)["APICURIO_KAFKASQL_BOOTSTRAP_SERVERS"].split(",")) == {f"{n}:9092" for n in KAFKA_SERVICES}
    assert set(registry["depends_on"]) == {*KAFKA_SERVICES, "registry-topics"}
    assert environment(registry)["QUARKUS_HTTP_PORT"] == "8081"
    assert any(str(p).endswith(":8081") for p in registry["ports"])


CHECK_KAFKA_CONFIG = """
import java.io.FileReader;
import java.util.Properties;

public class CheckKafkaConfig {
    static final java.util.Set<String> AUTHORIZER = java.util.Set.of("super.users", "allow.everyone.if.no.acl.found");

    public static void main(String[] args) throws Exception {
        var known = kafka.server.KafkaConfig.configNames();
        for (String path : args) {
            var props = new Properties();
            try (var reader = new FileReader(path)) { props.load(reader); }
            for (String name : props.stringPropertyNames()) {
                // listener.name.<listener>.[<sasl mechanism>.]<setting>: a setting for one listener;
                // config.providers[.<name>.class]: where ${file:...} values come from.
                String setting = name.replaceFirst("^listener\\\\.name\\\\.[a-z_]+\\\\.(scram-sha-(256|512)\\\\.)?", "");
                // super.users, allow.everyone.if.no.acl.found: settings of the StandardAuthorizer.
                if (name.startsWith("config.providers") || AUTHORIZER.contains(name)) continue;
                if (!known.contains(setting)) System.out.println("UNKNOWN " + path + " " + name);
            }
            new kafka.server.KafkaConfig(props, true);  // throws on a bad value or inconsistent listeners
            System.out.println("VALID " + path);
        }
    }
}
"""


@pytest.mark.parametrize("compose_file", [CLUSTER_FILE, SECURE_CLUSTER_FILE], ids=lambda p: p.name)
def test_cluster_compose_kafka_settings_are_valid_for_kafka_4_2_2(tmp_path, compose_file):
    """Every broker setting of the compose file (plain and secured) is a Kafka 4.2.2 setting, and each
    node's config is accepted by Kafka's own validation (the jars of the local stack, same version as the image)."""
    services = load_compose(compose_file)["services"]
    assert services["kafka-1"]["image"].endswith(":" + local_stack.KAFKA_VERSION + "}")
    local_stack.install()
    java = local_stack.find_java(17)
    files = []
    for name in KAFKA_SERVICES:
        path = tmp_path / f"{name}.properties"
        props = server_properties(environment(services[name]))
        # A ${file:...} value is read from the container's volume at start: a stand-in value here.
        props = {k: "placeholder" if v.startswith("${file:") else v for k, v in props.items()}
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        files.append(str(path))
    source = tmp_path / "CheckKafkaConfig.java"
    source.write_text(CHECK_KAFKA_CONFIG)
    result = _run([java, "-cp", str(local_stack.KAFKA_LIBS / "*"), str(source), *files], timeout=180)
    assert result.returncode == 0, f"Kafka rejected the compose settings:\n{result.stdout}\n{result.stderr[-3000:]}"
    assert "UNKNOWN" not in result.stdout, result.stdout
    assert result.stdout.count("VALID ") == 3, result.stdout


def test_apps_compose_contract():
    compose = load_compose(APPS_FILE)
    services = compose["services"]
    assert set(services) == {"producer", "consumer"}
    net = compose["networks"]["default"]
    assert net.get("external") is True and net.get("name") == NETWORK

    cluster = load_compose(CLUSTER_FILE)
    registry_port = environment(cluster["services"]["schema-registry"])["QUARKUS_HTTP_PORT"]
    registry_url = f"http://schema-registry:{registry_port}/apis/ccompat/v7"

    for name, image, target in (("producer", PRODUCER_IMAGE, "producer"), ("consumer", CONSUMER_IMAGE, "consumer")):
        svc = services[name]
        assert svc["image"] == image
        build = svc["build"]
        assert (APPS_FILE.parent / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
        assert build["target"] == target
        args = command_list(svc)
        assert flag_value(args, "-b") == "broker:9092"
        assert flag_value(args, "-s") == registry_url
        assert flag_value(args, "-t") == "assignment"
        # The cluster's min.insync.replicas=2 needs topics with 3 replicas.
        assert flag_value(args, "--replication-factor") == "3"
        assert "container_name" not in svc
    consumer = services["consumer"]
    assert flag_value(command_list(consumer), "-g") == "customerGroup"
    # --scale consumer=3: nothing that can exist only once. Its HTTP port is published at a host
    # port Docker picks for each replica (none given), on loopback unless PUBLISH_ADDRESS says otherwise.
    assert "hostname" not in consumer
    assert consumer.get("ports") == ["${PUBLISH_ADDRESS:-127.0.0.1}::8080"], consumer.get("ports")
    assert compose.get("name") and compose["name"] != "docker", "own project name: `down` must not touch the cluster"


def test_dockerfile_contract():
    text = DOCKERFILE.read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    assert args["PYTHON_IMAGE"] == "python:3.11-slim"
    assert args["JDK_IMAGE"] == "eclipse-temurin:17-jdk"
    assert args["JRE_IMAGE"] == "eclipse-temurin:17-jre"
    stages = dict((name, base) for base, name in re.findall(r"^FROM (\S+) AS (\S+)$", text, re.M))
    assert stages == {
        "python-builder": "${PYTHON_IMAGE}",
        "scala-builder": "${JDK_IMAGE}",
        "producer": "${PYTHON_IMAGE}",
        "consumer": "${JRE_IMAGE}",
    }
    blocks = dict(re.findall(r"^FROM \S+ AS (\S+)$(.*?)(?=^FROM |\Z)", text, re.M | re.S))
    assert 'ENTRYPOINT ["python", "-m", "txpipe.producer"]' in blocks["producer"]
    assert re.search(r'ENTRYPOINT \["java", "@/app/consumer.jvm-options", "-jar", "\S+\.jar"\]', blocks["consumer"])
    for target in ("producer", "consumer"):
        users = re.findall(r"^USER (\S+)", blocks[target], re.M)
        assert users and users[-1].split(":")[0] not in ("root", "0"), f"{target} must run as non-root"
        for label in ("title", "description", "version"):
            assert f"org.opencontainers.image.{label}=" in blocks[target]
        assert "--from=python-builder" in blocks[target] or "--from=scala-builder" in blocks[target]
    # Dependencies are resolved before the sources are copied (cached layer).
    scala = blocks["scala-builder"]
    assert scala.index("sbt update") < scala.index("COPY scala/src/")
    python = blocks["python-builder"]
    assert python.index("pip install") < python.index("COPY src/")
    assert "grpcio-tools" in python and "compile_protos" in python
    # The image runs the consumer JVM with the flags the demo, tests and bench use: their one file.
    assert "COPY docker/consumer.jvm-options /app/consumer.jvm-options" in blocks["consumer"]
    assert "JAVA_TOOL_OPTIONS=" not in re.sub(r"^#.*$", "", blocks["consumer"], flags=re.M), "a second copy of the flags"


def test_dockerignore_keeps_the_context_small():
    ignored = dockerignore_matcher((ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines())
    for path in (
        ".venv/bin/python",
        ".stack/images/jdk.tar",
        ".git/HEAD",
        "scala/target/txpipe-consumer.jar",
        "scala/project/target/config-classes/x.class",
        "scala/project/project/target/x",
        "src/txpipe/gen/transaction_pb2.py",
        "src/txpipe/__pycache__/producer.cpython-311.pyc",
        ".pytest_cache/v/cache",
        "tests/unit/test_totals.py",
        "bench-results/x.json",
    ):
        assert ignored(path), f"{path} would be sent to the build context"
    text = DOCKERFILE.read_text(encoding="utf-8")
    sources = []
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        sources += line.split()[:-1]
    assert sources
    for src in sources:
        assert (ROOT / src).exists(), f"COPY source {src} missing"
        assert not ignored(src.rstrip("/")), f"COPY source {src} is excluded by .dockerignore"
    for path in (
        "src/txpipe/producer.py",
        "scala/src/main/scala/txpipe/consumer/Main.scala",
        "proto/transaction.proto",
        "docker/certs/README.md",
    ):
        assert not ignored(path), f"{path} is needed in the build context"


# ---------------------------------------------------------------------------------------------
# (b) End to end: build the images, run them against the real local stack


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)


def test_images_metadata(images):
    for target, info in images["images"].items():
        assert info["user"] and info["user"].split(":")[0] not in ("root", "0"), f"{target} runs as root"
        labels = info["labels"]
        for key in (
            "org.opencontainers.image.title",
            "org.opencontainers.image.version",
            "org.opencontainers.image.description",
            "org.opencontainers.image.base.name",
        ):
            assert labels.get(key), f"{target}: label {key} missing"
        assert info["size_bytes"] > 0
    assert images["images"]["producer"]["entrypoint"] == ["python", "-m", "txpipe.producer"]
    assert images["images"]["consumer"]["entrypoint"][:3] == ["java", "@/app/consumer.jvm-options", "-jar"]


def test_producer_image_holds_the_producer_package_only(engine, images):
    """The producer image's Python has the txpipe modules the product ships and none of the project's tooling."""
    probe = (
        "import importlib.util, json, pkgutil, txpipe; print(json.dumps({"
        "'tooling': [m for m in ('txpipe_tools', 'tests', 'bench') if importlib.util.find_spec(m)], "
        "'txpipe': sorted(m.name for m in pkgutil.iter_modules(txpipe.__path__))}))"
    )
    result = _run([engine, "run", "--rm", "--entrypoint", "python", PRODUCER_IMAGE, "-c", probe], timeout=120)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["tooling"] == []
    assert set(found["txpipe"]) == PRODUCT_MODULES - {"__init__"}


def test_consumer_image_runs_java_with_the_options_file(engine, images):
    """The consumer image holds docker/consumer.jvm-options as it is, and its java reads it."""
    shipped = _run([engine, "run", "--rm", "--entrypoint", "cat", CONSUMER_IMAGE, "/app/consumer.jvm-options"], timeout=120)
    assert shipped.returncode == 0, shipped.stderr
    assert shipped.stdout == JVM_OPTIONS_FILE.read_text(encoding="utf-8")
    flags = _run(
        [
            engine,
            "run",
            "--rm",
            "--entrypoint",
            "java",
            CONSUMER_IMAGE,
            "@/app/consumer.jvm-options",
            "-XX:+PrintFlagsFinal",
            "-version",
        ],
        timeout=120,
    )
    assert flags.returncode == 0, flags.stderr
    assert re.search(r"\bMaxHeapSize\s+= 167772160\b", flags.stdout), "not the file's -Xmx160m"
    assert re.search(r"\bExitOnOutOfMemoryError\s+= true\b", flags.stdout)
    assert re.search(r"\bUseSerialGC\s+= true\b", flags.stdout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("container-stack-run")
    handle = local_stack.up(kafka_port=_free_port(), controller_port=_free_port(), registry_port=_free_port(), run_dir=run_dir)
    try:
        yield handle
    finally:
        local_stack.down(run_dir=run_dir)


class ContainerOutput:
    """Reads a running container's stdout lines; keeps each account's last logged total."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.last: dict[str, str] = {}
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            with self.changed:
                self.lines.append(line)
                m = LINE.match(line)
                if m:
                    self.last[m["account"]] = m["total"]
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, expected: dict[str, str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not all(self.last.get(a) == t for a, t in expected.items()):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    return False
                self.changed.wait(min(remaining, 1.0))
        return True


def _remove(engine: str, name: str) -> None:
    try:
        _run([engine, "rm", "-f", "-t", "10", name] if engine == "podman" else [engine, "rm", "-f", name], timeout=60)
    except subprocess.TimeoutExpired:
        pass


def test_images_run_the_pipeline_on_the_local_stack(engine, images, stack, tmp_path):
    topic = f"ct-{secrets.token_hex(4)}"
    group = f"ct-group-{secrets.token_hex(4)}"
    suffix = secrets.token_hex(4)
    producer_name, consumer_name = f"txpipe-ct-producer-{suffix}", f"txpipe-ct-consumer-{suffix}"
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # the images run as uid 10001

    try:
        # Producer: a fixed seed, ground truth written to the mounted directory.
        try:
            produced = _run(
                [
                    engine,
                    "run",
                    "--rm",
                    "--name",
                    producer_name,
                    "--network",
                    "host",
                    "-v",
                    f"{out}:/out",
                    PRODUCER_IMAGE,
                    "-b",
                    stack.bootstrap_servers,
                    "-s",
                    stack.schema_registry_url,
                    "-t",
                    topic,
                    "-n",
                    "1500",
                    "-a",
                    "12",
                    "--seed",
                    "4242",
                    "--ground-truth",
                    "/out/truth.json",
                    "-q",
                ],
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.fail("the producer container did not finish within 300s")
        assert produced.returncode == 0, f"producer failed:\n{produced.stdout[-2000:]}\n{produced.stderr[-4000:]}"
        assert "delivered=1500 failed=0" in produced.stdout, produced.stdout[-2000:]
        truth = verify.load_ground_truth(out / "truth.json")
        expected = truth["totals"]
        assert len(expected) == 12

        # Consumer: its stdout lines, until every account's last total is the ground truth's.
        proc = subprocess.Popen(
            [
                engine,
                "run",
                "--name",
                consumer_name,
                "--network",
                "host",
                # The image serves HTTP on 8080 of its own network; on the host's network, not at all.
                "-e",
                "TXPIPE_HTTP_PORT=0",
                CONSUMER_IMAGE,
                "-b",
                stack.bootstrap_servers,
                "-s",
                stack.schema_registry_url,
                "-t",
                topic,
                "-g",
                group,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        stderr_lines: list[str] = []
        threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True).start()
        output = ContainerOutput(proc)
        try:
            reached = output.wait_for(expected, timeout=240)
            wrong = {a: (t, output.last.get(a)) for a, t in expected.items() if output.last.get(a) != t}
            assert reached and not wrong, (
                f"consumer container ({'running' if proc.poll() is None else f'exited {proc.returncode}'}) "
                f"did not print the expected totals within 240s: {len(wrong)} accounts differ, "
                f"e.g. {dict(list(wrong.items())[:5])}; {len(output.lines)} lines; stderr tail:\n" + "".join(stderr_lines[-30:])
            )
            assert set(output.last) == set(expected), "totals for accounts the producer never sent to"
            tuples = [line for line in output.lines if LINE.match(line)]
            assert len(tuples) == 1500, f"one line per transaction expected, got {len(tuples)}"
        finally:
            stopped = _run([engine, "stop", "-t", "20", consumer_name], timeout=60)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            assert stopped.returncode == 0 or proc.poll() is not None
    finally:
        _remove(engine, consumer_name)
        _remove(engine, producer_name)
