"""docker/docker-compose-secure.yml run for real with Docker Compose: the secured cluster comes up
healthy with its certificates, SCRAM users and ACLs made at start, and the two app images, given the
client configs the `certs` service wrote (the `clients` volume), send and count a few hundred
transactions over SASL_SSL and an HTTPS registry with a login: every account's total exact.

Also: a plaintext client on a published port gets nothing, the registry refuses plain HTTP, and no
generated password shows in any container's log, environment or command line. Then `down -v` leaves
no container, network or volume. Small on purpose (CI runs it on 2 cores); each step's time is printed.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from tests.container.conftest import CONSUMER_IMAGE, PRODUCER_IMAGE
from tests.container.test_compose import _free_port, _run, compose_ps
from txpipe import generator
from txpipe.totals import RunningTotals
from txpipe_tools import verify
from txpipe_tools.consumer_runner import LINE

pytestmark = pytest.mark.container

FILE = "docker/docker-compose-secure.yml"
PROJECT, NETWORK = "txpipe-secure", "txpipe_secure"
SERVICES = ("kafka-1", "kafka-2", "kafka-3", "schema-registry")
ONE_SHOTS = ("certs", "secure-setup")
TOPIC, GROUP = "assignment", "customerGroup"  # the pipeline secure-setup grants by default
N, ACCOUNTS, SEED = 300, 10, 2323
APP_FLAGS = ["-b", "broker:9092", "-s", "https://schema-registry:8081/apis/ccompat/v7", "-t", TOPIC]
MOUNT = ["--network", NETWORK, "-v", f"{PROJECT}_clients:/etc/txpipe:ro"]


def _compose(env: dict, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["docker", "compose", "-f", FILE, *args], timeout, env, check)


def _step(t0: float, name: str) -> float:
    now = time.monotonic()
    print(f"[secure compose] {name}: {now - t0:.1f}s", flush=True)
    return now


def _generated_secrets(env: dict) -> list[str]:
    """Every password the certs service made, read back from its volumes (as root, in a throw-away container)."""
    files = ["/c/producer.properties", "/c/consumer.properties", "/r/application.properties", "/t/broker-tls.properties"]
    volumes = ["-v", f"{PROJECT}_clients:/c:ro", "-v", f"{PROJECT}_registry-config:/r:ro", "-v", f"{PROJECT}_tls:/t:ro"]
    image = env.get("KAFKA_IMAGE", "apache/kafka:4.2.2")
    text = _run(["docker", "run", "--rm", "--user", "0", *volumes, "--entrypoint", "cat", image, *files], 120, env).stdout
    found = set(re.findall(r"password=\"?([0-9a-f]{32,})", text))
    found |= set(re.findall(r"(?:user\.info=[\w-]+:|embedded\.users\.[\w-]+=)([0-9a-f]{32,})", text))
    return sorted(found)


@pytest.fixture(scope="module")
def secure_env(engine, service_images_env, images) -> dict:
    if engine != "docker":
        pytest.fail(
            "the secured compose cluster needs Docker Engine and Docker Compose v2: run `bash tools/container/setup-docker.sh`"
        )
    leftovers = _run(
        ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"], 30, service_images_env
    )
    assert not leftovers.stdout.strip(), f"containers of {FILE} already exist: `docker compose -f {FILE} down -v` first"
    ports = {f"KAFKA_{i}_HOST_PORT": str(_free_port()) for i in (1, 2, 3)} | {"REGISTRY_HOST_PORT": str(_free_port())}
    return {**service_images_env, **ports}


def test_secured_compose_cluster_counts_exactly(secure_env):
    env, t0 = secure_env, time.monotonic()
    consumer_name = f"txpipe-secure-consumer-{int(time.time())}"
    try:
        up = _compose(env, "up", "-d", "--wait", timeout=900, check=False)
        if up.returncode != 0:
            logs = _compose(env, "logs", "--no-color", "--tail", "40", timeout=120, check=False)
            pytest.fail(
                f"`docker compose -f {FILE} up -d --wait` exited {up.returncode}:\n{up.stderr[-2000:]}\n{logs.stdout[-8000:]}"
            )
        t = _step(t0, "up --wait (certificates, cluster, users and ACLs, registry)")
        rows = {c["Service"]: c for c in compose_ps(FILE, env)}
        assert sorted(rows) == sorted([*SERVICES, *ONE_SHOTS]), sorted(rows)
        for name in ONE_SHOTS:
            assert (rows[name]["State"], rows[name]["ExitCode"]) == ("exited", 0), rows[name]
        for name in SERVICES:
            assert (rows[name]["State"], rows[name]["Health"]) == ("running", "healthy"), rows[name]
            for pub in rows[name].get("Publishers") or []:
                if pub.get("PublishedPort"):
                    assert pub["URL"] == "127.0.0.1", f"{name} publishes {pub} beyond loopback"

        # Nothing answers in plaintext on the published ports.
        plain = AdminClient(
            {"bootstrap.servers": f"127.0.0.1:{env['KAFKA_1_HOST_PORT']}", "security.protocol": "plaintext", "log_level": 3}
        )
        with pytest.raises(KafkaException):
            plain.list_topics(timeout=5)
        del plain  # stops its reconnecting
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{env['REGISTRY_HOST_PORT']}/apis/ccompat/v7/subjects", timeout=5)
        t = _step(t, "plaintext refused")

        # The apps' images with the client configs certs wrote: SASL_SSL, registry over HTTPS with a login.
        sent = _run(
            ["docker", "run", "--rm", *MOUNT, PRODUCER_IMAGE, *APP_FLAGS, "--replication-factor", "3",
             "--client-config", "/etc/txpipe/producer.properties", "-n", str(N), "-a", str(ACCOUNTS), "--seed", str(SEED), "-q"],
            300, env,
        )  # fmt: skip
        assert f"delivered={N} failed=0" in sent.stdout, sent.stdout[-2000:] + sent.stderr[-2000:]
        t = _step(t, f"producer image: {N} transactions")
        truth = RunningTotals()
        for tx in generator.generate(N, ACCOUNTS, SEED):
            truth.add(tx.account_number, tx.amount)
        expected = truth.formatted()
        _run(
            ["docker", "run", "-d", "--name", consumer_name, *MOUNT, CONSUMER_IMAGE, *APP_FLAGS, "-g", GROUP,
             "--replication-factor", "3", "--client-config", "/etc/txpipe/consumer.properties"],
            60, env,
        )  # fmt: skip
        lines = _wait_for_totals(consumer_name, expected, env, timeout=240)
        assert len(lines) == N, f"{len(lines)} total lines for {N} transactions"
        t = _step(t, "consumer image: every account's total exact")

        # No generated password in any log, environment or command line.
        passwords = _generated_secrets(env)
        assert len(passwords) >= 5, "expected the SCRAM, registry and key store passwords"
        # Both streams of every log: the consumer logs to stderr, its stdout carries only the total lines.
        cluster_logs = _compose(env, "logs", "--no-color", timeout=120)
        consumer_logs = _run(["docker", "logs", consumer_name], 60, env)
        assert "client config /etc/txpipe/consumer.properties: Kafka client keys [" in consumer_logs.stderr, (
            "the consumer's stderr lacks its client config line (the line naming the file that holds the secrets)"
        )
        logs = cluster_logs.stdout + cluster_logs.stderr + consumer_logs.stdout + consumer_logs.stderr + sent.stdout + sent.stderr
        ids = _run(
            ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"], 30, env
        ).stdout.split()
        inspected = _run(["docker", "inspect", *ids, consumer_name], 60, env).stdout
        for password in passwords:
            assert password not in logs, "a generated password is in a container's log"
            assert password not in inspected, "a generated password is in a container's environment or command"
        _step(t, "no secret in logs, environment or argv")
    finally:
        _run(["docker", "rm", "-f", consumer_name], 60, env, check=False)
        _compose(env, "down", "-v", timeout=300, check=False)
    left = _run(["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"], 30, env).stdout
    assert not left.strip(), f"volumes left after down -v: {left.split()}"


def _wait_for_totals(container: str, expected: dict[str, str], env: dict, timeout: float) -> list[str]:
    """The consumer container's total lines once every account's last total equals ``expected``."""
    deadline = time.monotonic() + timeout
    while True:
        out = _run(["docker", "logs", container], 60, env).stdout
        lines = [line for line in out.splitlines() if LINE.match(line)]
        last = {m["account"]: m["total"] for m in map(LINE.match, lines) if m}
        if not verify.compare(expected, last):
            return lines
        state = _run(["docker", "inspect", "-f", "{{.State.Status}}", container], 30, env).stdout.strip()
        if state != "running" or time.monotonic() > deadline:
            err = _run(["docker", "logs", container], 60, env).stderr
            pytest.fail(
                f"the consumer ({state}) did not log the expected totals within {timeout:.0f}s: "
                f"{verify.compare(expected, last)[:5]}\n{err[-3000:]}"
            )
        time.sleep(3)
