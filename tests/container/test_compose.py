"""The README's Docker path, run for real with Docker Engine and Compose v2.

Every docker command here comes from the README's "Docker" section (its fenced blocks are parsed),
so the README and this test cannot drift apart. The only additions are the ones a machine without
Docker Hub needs and the README documents: the stand-in base images as --build-arg / environment
variables, the stand-in service images as KAFKA_IMAGE / REGISTRY_IMAGE, and free host ports.

1. the README's `docker build` lines, then `docker compose -f docker/docker-compose.yml up -d --wait`:
   three KRaft nodes and the registry healthy, every published port on 127.0.0.1;
2. the README's `docker run` producer and consumer, as written: the consumer prints the producer's
   totals, and every topic it created has 3 replicas (the cluster has min.insync.replicas=2);
3. `docker compose -f docker/docker-compose-prod-cons.yml up -d --build --scale consumer=3`: each
   consumer container turns Docker-healthy (the image's HEALTHCHECK on /health/ready), the group has
   three members sharing the input's partitions, the producer sends its transactions and the
   consumers' logs and `assignment-totals` (read_committed) reach the exact totals of everything sent;
4. one Kafka node `docker kill`ed while another batch is sent, then started again: totals exact;
5. the registry container restarted mid-batch: once healthy, and before any producer could register
   again, it serves the schema under the id and subject version it had before (stored durably); then
   the consumers restarted (new JVMs look every schema id up again): totals exact, nothing in the DLQ;
6. the README's `down` commands: no container, network or volume of either project left.

Transaction counts are modest (CI runs this on 2 cores); the durations of each step are printed.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.integration.test_live_totals import get_ok, wait_until
from txpipe import generator, producer
from txpipe.totals import amount_decimal, format_total
from txpipe_tools import verify
from txpipe_tools.consumer_runner import LINE

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CLUSTER_PROJECT, APPS_PROJECT = "docker", "txpipe-apps"
NETWORK = "docker_default"
TOPIC = "assignment"
GROUP = "customerGroup"


# ---------------------------------------------------------------------------------------------
# The README's commands


def readme_docker_commands(text: str) -> list[str]:
    """Every `docker ...` command of the fenced bash blocks of the README's "## Docker" section,
    continuation lines joined and trailing comments dropped."""
    section = re.search(r"^## Docker\n(.*?)(?=^## )", text, re.M | re.S)
    assert section, "README has no '## Docker' section"
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", section.group(1), re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line.startswith("docker "):
                commands.append(re.sub(r"\s+", " ", line))
    return commands


def pick(commands: list[str], pattern: str) -> list[str]:
    found = [c for c in commands if re.fullmatch(pattern, c)]
    assert len(found) == 1, f"README's Docker section: expected one command like {pattern!r}, found {found}"
    return shlex.split(found[0])


class Readme:
    def __init__(self) -> None:
        cmds = readme_docker_commands(README.read_text(encoding="utf-8"))
        self.build_producer = pick(cmds, r"docker build .*--target producer .*")
        self.build_consumer = pick(cmds, r"docker build .*--target consumer .*")
        self.cluster_up = pick(cmds, r"docker compose -f docker/docker-compose\.yml up .*")
        self.run_producer = pick(cmds, r"docker run .* kafka-producer:v1\.0 .*")
        self.run_consumer = pick(cmds, r"docker run .* kafka-consumer:v1\.0 .*")
        self.apps_up = pick(cmds, r"docker compose -f docker/docker-compose-prod-cons\.yml up .*")
        self.apps_logs = pick(cmds, r"docker compose -f docker/docker-compose-prod-cons\.yml logs .*")
        self.apps_port = pick(cmds, r"docker compose -f docker/docker-compose-prod-cons\.yml port .*")
        self.apps_down = pick(cmds, r"docker compose -f docker/docker-compose-prod-cons\.yml down.*")
        self.cluster_down = pick(cmds, r"docker compose -f docker/docker-compose\.yml down.*")


def test_readme_docker_commands_are_the_ones_this_test_runs():
    """The static half: the README's Docker section has each command the walkthrough below runs, in the
    form the issue asks for (no Docker engine needed)."""
    r = Readme()
    assert r.cluster_up[-2:] == ["-d", "--wait"] or "--wait" in r.cluster_up
    assert r.apps_up[r.apps_up.index("up") :] == ["up", "-d", "--build", "--scale", "consumer=3"]
    assert r.apps_port[r.apps_port.index("port") :] == ["port", "--index", "1", "consumer", "8080"]
    assert "-v" in r.cluster_down, "the cluster's down must remove its volumes too (down -v)"
    assert producer.parse_args(r.run_producer[r.run_producer.index("kafka-producer:v1.0") + 1 :]).topic == TOPIC
    args = r.run_consumer[r.run_consumer.index("kafka-consumer:v1.0") + 1 :]
    # The examples run unchanged: the apps take the cluster's default.replication.factor (3, as its
    # min.insync.replicas=2 needs); the walkthrough checks every topic they create has 3 replicas.
    assert "--replication-factor" not in args, "the README's consumer example should need no replication factor"
    assert args[args.index("-g") + 1] == GROUP and args[args.index("-t") + 1] == TOPIC


# ---------------------------------------------------------------------------------------------
# Helpers


def _run(cmd: list[str], timeout: float, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{shlex.join(cmd)}` did not finish within {timeout:.0f}s:\n{(exc.stderr or b'')[-3000:]}")
    if check:
        assert result.returncode == 0, (
            f"`{shlex.join(cmd)}` exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def producer_args(argv: list[str]):
    """The producer's own parsing of its arguments (placeholders for the connection flags a batch's
    argument list may leave out: the last occurrence of a flag wins)."""
    return producer.parse_args(["-b", "-", "-s", "-", "-t", TOPIC, *argv])


def expected_totals(*batches: list[str]) -> dict[str, str]:
    """Per-account totals of the synthetic batches the producer sends with these arguments."""
    sums: dict[str, Decimal] = {}
    for argv in batches:
        args = producer_args(argv)
        for tx in generator.generate(args.count, args.accounts, args.seed):
            sums[tx.account_number] = sums.get(tx.account_number, Decimal(0)) + amount_decimal(tx.amount)
    return {account: format_total(total) for account, total in sums.items()}


def as_sent(argv: list[str], output: str) -> list[str]:
    """A batch's arguments with the seed its producer reports having used (a fresh one unless --seed was given)."""
    m = re.findall(r"\bseed=(\d+)", output)
    assert m, f"the producer's summary names no seed: {output[-1000:]}"
    return [*argv, "--seed", m[-1]]


def batch_size(argv: list[str]) -> int:
    return producer_args(argv).count


def compose_ps(file: str, env: dict) -> list[dict]:
    out = _run(["docker", "compose", "-f", file, "ps", "-a", "--format", "json"], 60, env).stdout
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("["):
            rows += json.loads(line)
        elif line:
            rows.append(json.loads(line))
    return rows


def container_of(file: str, service: str, env: dict) -> dict:
    found = [c for c in compose_ps(file, env) if c["Service"] == service]
    assert len(found) == 1, f"{service}: expected one container, got {found}"
    return found[0]


def wait_healthy(file: str, services: list[str], env: dict, timeout: float, count: int = 1) -> list[dict]:
    """Until each of ``services`` has ``count`` containers, every one running with Docker health
    "healthy"; returns their `compose ps` rows."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [c for c in compose_ps(file, env) if c["Service"] in services]
        state = {c["Name"]: (c.get("State"), c.get("Health")) for c in rows}
        per_service = {s: sum(c["Service"] == s for c in rows) for s in services}
        if all(n == count for n in per_service.values()) and all(v == ("running", "healthy") for v in state.values()):
            return rows
        if time.monotonic() > deadline:
            pytest.fail(
                f"{count} container(s) of each of {services} running and Docker-healthy: not within {timeout:.0f}s; "
                f"containers per service {per_service}, (state, health) {state}"
            )
        time.sleep(2)


def group_shares(bootstrap: str, group: str, topic: str, members: int) -> str | None:
    """None when ``group`` is stable with ``members`` members on as many hosts, each assigned some of
    ``topic``'s partitions, no partition twice and none left out; else what is not so."""
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept while its future is pending
    partitions = set(admin.list_topics(topic, timeout=30).topics[topic].partitions)
    try:
        desc = admin.describe_consumer_groups([group], request_timeout=30)[group].result(timeout=60)
    except Exception as exc:  # a coordinator moving, a group rebalancing: asked again
        return f"describing {group}: {exc!r}"
    mine = {
        f"{m.host} {m.client_id}": sorted(tp.partition for tp in m.assignment.topic_partitions if tp.topic == topic)
        for m in desc.members
    }
    assigned = [p for ps in mine.values() for p in ps]
    shown = f"state {desc.state}, {topic} partitions per member {mine}"
    if desc.state != ConsumerGroupState.STABLE or len(desc.members) != members:
        return shown
    if len({m.host for m in desc.members}) != members or not all(mine.values()):
        return shown
    if len(assigned) != len(set(assigned)) or set(assigned) != partitions:
        return f"{shown}; the topic has partitions {sorted(partitions)}"
    return None


def registry_get(url: str) -> tuple[int, dict]:
    """A GET to the registry: the status and the JSON body ({} for an error)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


_TS = re.compile(r"^(?P<service>\S+)\s+\|\s(?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?Z\s(?P<line>.*)$")


def consumer_lines(logs_cmd: list[str], env: dict) -> list[tuple[str, str, str, str]]:
    """(timestamp, container, account, total) of every total line the consumers logged, oldest first.
    The README's `logs -f consumer`, with timestamps and without following."""
    at = logs_cmd.index("logs")
    cmd = logs_cmd[: at + 1] + [a for a in logs_cmd[at + 1 :] if a not in ("-f", "--follow")] + ["--timestamps", "--no-color"]
    out = _run(cmd, 120, env).stdout
    lines = []
    for raw in out.splitlines():
        m = _TS.match(raw)
        if not m:
            continue
        total = LINE.match(m["line"])
        if total:
            stamp = f"{m['date']}.{(m['frac'] or '').ljust(9, '0')}"
            lines.append((stamp, m["service"], total["account"], total["total"]))
    lines.sort(key=lambda x: x[0])
    return lines


def last_totals(lines) -> dict[str, str]:
    last = {}
    for _, _, account, total in lines:
        last[account] = total
    return last


def wait_for_log_totals(logs_cmd: list[str], env: dict, expected: dict[str, str], timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        lines = consumer_lines(logs_cmd, env)
        diff = verify.compare(expected, last_totals(lines))
        if not diff:
            return lines
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: the consumers' logs did not reach the producer's totals within {timeout:.0f}s: {diff[:5]}")
        time.sleep(3)


def dlq_records(bootstrap: str) -> int:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"ct-dlq-{secrets.token_hex(4)}", "isolation.level": "read_uncommitted"}
    )
    try:
        meta = consumer.list_topics(f"{TOPIC}-dlq", timeout=30).topics[f"{TOPIC}-dlq"]
        assert meta.error is None, f"{TOPIC}-dlq: {meta.error}"
        return sum(consumer.get_watermark_offsets(TopicPartition(f"{TOPIC}-dlq", p), timeout=30)[1] for p in meta.partitions)
    finally:
        consumer.close()


def topic_end(bootstrap: str, topic: str = TOPIC) -> int:
    """The sum of the topic's partitions' end offsets."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ct-end-{secrets.token_hex(4)}"})
    try:
        meta = consumer.list_topics(topic, timeout=30).topics[topic]
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in meta.partitions)
    finally:
        consumer.close()


def wait_sending(bootstrap: str, start: int, records: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until a batch started at end offset ``start`` has written ``records`` records (so it is mid-run)."""
    deadline = time.monotonic() + timeout
    while topic_end(bootstrap) < start + records:
        assert proc.poll() is None, f"the batch's producer exited {proc.returncode} before sending {records} records"
        assert time.monotonic() < deadline, f"the batch's producer did not send {records} records within {timeout:.0f}s"
        time.sleep(0.5)


def check_totals_topic(bootstrap: str, expected: dict[str, str], transactions: int, what: str) -> None:
    try:
        committed = verify.read_totals_topic(bootstrap, f"{TOPIC}-totals", expected, timeout=120)
    except TimeoutError as exc:
        pytest.fail(f"{what}: {exc}")
    assert {a: t.total for a, t in committed.items()} == expected, what
    counted = sum(t.transaction_count for t in committed.values())
    assert counted == transactions, f"{what}: {TOPIC}-totals counts {counted} transactions, the producers sent {transactions}"


def send_batch(argv: list[str], name: str, env: dict) -> subprocess.Popen:
    """Another batch from the producer image on the cluster's network (the README's docker run, own flags)."""
    cmd = [
        "docker",
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        NETWORK,
        "kafka-producer:v1.0",
        "-b",
        "broker:9092",
        "-s",
        "http://schema-registry:8081/apis/ccompat/v7",
        "-t",
        TOPIC,
        "-q",
        *argv,
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_batch(proc: subprocess.Popen, argv: list[str], timeout: float = 240) -> None:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"producer batch {argv} did not finish within {timeout:.0f}s")
    n = batch_size(argv)
    assert proc.returncode == 0 and f"delivered={n} failed=0" in out, (
        f"batch {argv}: exit {proc.returncode}\n{out[-2000:]}\n{err[-3000:]}"
    )


class Steps:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.times: dict[str, float] = {}
        self._last = self.t0

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.times[name] = round(now - self._last, 1)
        self._last = now
        print(f"[compose walkthrough] {name}: {self.times[name]}s (total {now - self.t0:.0f}s)", flush=True)


# ---------------------------------------------------------------------------------------------
# The walkthrough


@pytest.fixture(scope="module")
def compose_env(engine, service_images_env) -> dict:
    if engine != "docker":
        pytest.fail(
            "the compose walkthrough needs Docker Engine and Docker Compose v2 (podman is only the fallback "
            "of the other container tests): run `bash tools/container/setup-docker.sh`"
        )
    version = _run(["docker", "compose", "version"], 30, check=False)
    if version.returncode != 0:
        pytest.fail(f"`docker compose version` failed: {version.stderr.strip()}; run `bash tools/container/setup-docker.sh`")
    leftovers = _run(["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={CLUSTER_PROJECT}"], 30).stdout
    assert not leftovers.strip(), (
        "containers of docker/docker-compose.yml already exist: stop them with "
        "`docker compose -f docker/docker-compose.yml down -v` first"
    )
    env = {**service_images_env}
    ports = {f"KAFKA_{i}_HOST_PORT": str(_free_port()) for i in (1, 2, 3)} | {"REGISTRY_HOST_PORT": str(_free_port())}
    env.update(ports)
    env["TXPIPE_HOST_BOOTSTRAP"] = ",".join(f"127.0.0.1:{ports[f'KAFKA_{i}_HOST_PORT']}" for i in (1, 2, 3))
    env["TXPIPE_HOST_REGISTRY"] = f"http://127.0.0.1:{ports['REGISTRY_HOST_PORT']}/apis/ccompat/v7"
    return env


def test_readme_compose_walkthrough(compose_env, base_images, tmp_path):
    env = compose_env
    readme = Readme()
    cluster_file = readme.cluster_up[readme.cluster_up.index("-f") + 1]
    apps_file = readme.apps_up[readme.apps_up.index("-f") + 1]
    bootstrap = env["TXPIPE_HOST_BOOTSTRAP"]
    steps = Steps()
    sent: list[list[str]] = []
    extra: list[subprocess.Popen] = []
    try:
        # 1. Images (the README's docker build lines, with the stand-in bases) and the cluster.
        for cmd in (readme.build_producer, readme.build_consumer):
            _run([*cmd[:2], *base_images["args"], *cmd[2:]], 1800, env)
        steps.done("docker build (both images)")
        up = subprocess.run(readme.cluster_up, capture_output=True, text=True, cwd=ROOT, env=env, timeout=1200, check=False)
        if up.returncode != 0:
            states = {c["Service"]: (c.get("State"), c.get("Health")) for c in compose_ps(cluster_file, env)}
            logs = _run(["docker", "compose", "-f", cluster_file, "logs", "--no-color", "--tail", "40"], 120, env, check=False)
            pytest.fail(
                f"`{shlex.join(readme.cluster_up)}` exited {up.returncode}: {states}\n{up.stderr[-2000:]}\n"
                f"last log lines:\n{logs.stdout[-8000:]}"
            )
        steps.done("cluster up --wait")
        rows = compose_ps(cluster_file, env)
        assert sorted(c["Service"] for c in rows) == ["kafka-1", "kafka-2", "kafka-3", "registry-topics", "schema-registry"]
        topics_job = next(c for c in rows if c["Service"] == "registry-topics")
        assert (topics_job["State"], topics_job["ExitCode"]) == ("exited", 0), topics_job
        for c in rows:
            if c["Service"] == "registry-topics":
                continue
            assert (c["State"], c["Health"]) == ("running", "healthy"), c
            for pub in c.get("Publishers") or []:
                if pub.get("PublishedPort"):
                    assert pub["URL"] == "127.0.0.1", f"{c['Service']} publishes {pub} beyond loopback"
        meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30)
        assert sorted(b.id for b in meta.brokers.values()) == [1, 2, 3], "the three nodes are not all brokers of one cluster"
        with urllib.request.urlopen(f"{env['TXPIPE_HOST_REGISTRY']}/subjects", timeout=10) as resp:
            assert resp.status == 200

        # 2. The README's docker run lines, as written.
        produced = _run(readme.run_producer, 300, env)
        run_args = readme.run_producer[readme.run_producer.index("kafka-producer:v1.0") + 1 :]
        assert f"delivered={batch_size(run_args)} failed=0" in produced.stdout, produced.stdout[-2000:]
        sent.append(as_sent(run_args, produced.stdout))
        expected = expected_totals(*sent)
        proc = subprocess.Popen(
            readme.run_consumer, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        extra.append(proc)
        last: dict[str, str] = {}
        reached = threading.Event()

        def read() -> None:
            for raw in proc.stdout:
                m = LINE.match(raw.rstrip("\n"))
                if m:
                    last[m["account"]] = m["total"]
                    if not verify.compare(expected, last):
                        reached.set()

        threading.Thread(target=read, daemon=True).start()
        stderr_tail: list[str] = []
        threading.Thread(target=lambda: stderr_tail.extend(proc.stderr), daemon=True).start()
        ok = reached.wait(300)
        # Ctrl-C's equivalent: docker run passes the signal on; the consumer leaves the group, --rm removes it.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the README's consumer did not stop within 90s of SIGTERM")
        assert ok, (
            f"the README's docker run consumer did not print the producer's totals within 300s: "
            f"{verify.compare(expected, last)[:5]}\nstderr:\n{''.join(stderr_tail[-30:])}"
        )
        topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics
        mine = {n: t for n, t in topics.items() if n.startswith(f"{GROUP}-") or n.startswith(f"{TOPIC}")}
        assert {f"{TOPIC}", f"{TOPIC}-totals", f"{TOPIC}-dlq"} <= set(mine), sorted(mine)
        assert any(n.endswith("-changelog") for n in mine), sorted(mine)
        rf = {n: {len(p.replicas) for p in t.partitions.values()} for n, t in mine.items()}
        assert all(r == {3} for r in rf.values()), f"topics of the README's apps without 3 replicas: {rf}"
        steps.done("README docker run producer + consumer")

        # 3. Both apps with compose, three consumers.
        _run(readme.apps_up, 1800, env)
        apps_cmd = readme.apps_up[: readme.apps_up.index("up")]
        config = json.loads(_run([*apps_cmd, "config", "--format", "json"], 60, env).stdout)
        compose_producer = [str(a) for a in config["services"]["producer"]["command"]]
        deadline = time.monotonic() + 300
        while (prod := container_of(apps_file, "producer", env))["State"] != "exited":
            assert time.monotonic() < deadline, f"the compose producer did not finish within 300s: {prod}"
            time.sleep(2)
        plog = _run([*apps_cmd, "logs", "--no-color", "producer"], 60, env).stdout
        compose_args = producer.parse_args(compose_producer)
        assert prod["ExitCode"] == 0 and f"delivered={compose_args.count} failed=0" in plog, plog[-2000:]
        compose_argv = as_sent(["-n", str(compose_args.count), "-a", str(compose_args.accounts)], plog)
        sent.append(compose_argv)
        consumers = [c for c in compose_ps(apps_file, env) if c["Service"] == "consumer"]
        assert len(consumers) == 3 and all(c["State"] == "running" for c in consumers), consumers
        # The image's HEALTHCHECK (/health/ready), which the compose file keeps: Docker calls each consumer healthy.
        consumers = wait_healthy(apps_file, ["consumer"], env, 300, count=3)
        for c in json.loads(_run(["docker", "inspect", *(c["Name"] for c in consumers)], 60, env).stdout):
            health = c["State"].get("Health") or {}
            assert health.get("Status") == "healthy", f"{c['Name']}: Docker health {health.get('Status')!r}"
            assert c["Config"]["Healthcheck"]["Test"] == ["CMD", "bash", "/app/healthcheck.sh"], c["Config"]["Healthcheck"]
        # ... and the three share the input: one group member each, every partition assigned once.
        wait_until(
            lambda: group_shares(bootstrap, GROUP, TOPIC, 3),
            120,
            f"group {GROUP} did not settle into 3 members (one per consumer container) sharing every partition of {TOPIC}",
            poll=3,
        )
        steps.done("three consumers Docker-healthy, one group member each, partitions shared")
        expected = expected_totals(*sent)
        wait_for_log_totals(readme.apps_logs, env, expected, 300, "compose apps")
        check_totals_topic(bootstrap, expected, sum(map(batch_size, sent)), "compose apps")
        steps.done("compose apps up --build --scale consumer=3, totals exact")

        # Each consumer's page and API on the host, at the port the README's `port` line names.
        for index in (1, 2, 3):
            cmd = list(readme.apps_port)
            cmd[cmd.index("--index") + 1] = str(index)
            address = _run(cmd, 60, env).stdout.strip()
            host, _, port = address.rpartition(":")
            assert host == "127.0.0.1" and port.isdigit(), f"`{shlex.join(cmd)}` printed {address!r}"
            wait_until(
                lambda p=int(port): None if get_ok(p, "/health/ready") else "not 200",
                120,
                f"consumer {index}'s /health/ready on {address} answering 200",
            )
            account = sorted(expected)[index]
            with urllib.request.urlopen(f"http://{address}/accounts/{account}", timeout=10) as resp:
                answer = json.loads(resp.read())
            assert answer["total"] == expected[account], f"consumer {index} at {address} answered {answer} for {account}"
        steps.done("each consumer's HTTP port on the host answers committed totals")

        # 4. A Kafka node killed while a batch is sent, then started again.
        def batch(argv: list[str], midway: tuple[int, list[str], float] | None = None) -> None:
            """Sends a batch to the end; with `midway` (records, docker command, timeout), runs that
            command once that many of its records are in."""
            start = topic_end(bootstrap)
            proc = send_batch(argv, f"txpipe-ct-batch-{secrets.token_hex(3)}", env)
            extra.append(proc)
            if midway is not None:
                records, command, timeout = midway
                wait_sending(bootstrap, start, records, proc)
                _run(command, timeout, env)
            finish_batch(proc, argv)
            sent.append(argv)

        node = container_of(cluster_file, "kafka-2", env)["Name"]
        batch(["-n", "3000", "--seed", "1001", "-r", "300"], (600, ["docker", "kill", node], 60))
        _run(["docker", "start", node], 60, env)
        wait_healthy(cluster_file, ["kafka-2"], env, 240)
        expected = expected_totals(*sent)
        wait_for_log_totals(readme.apps_logs, env, expected, 300, "after a node was killed")
        check_totals_topic(bootstrap, expected, sum(map(batch_size, sent)), "after a node was killed")
        assert dlq_records(bootstrap) == 0, "records went to the DLQ while a node was down"
        steps.done("kafka-2 killed during a batch, started again, totals exact")

        # 5. The registry restarted mid-batch; then the consumers restarted, so every schema id is looked up again.
        registry = container_of(cluster_file, "schema-registry", env)["Name"]
        registry_url, subject_name = env["TXPIPE_HOST_REGISTRY"], f"{TOPIC}-value"
        kept = verify.registry_subject(registry_url, subject_name)
        status, kept_schema = registry_get(f"{registry_url}/schemas/ids/{kept['id']}")
        assert status == 200, f"schema id {kept['id']} of {subject_name}: HTTP {status} before the restart"
        # The producer needs the registry only until its first record is framed: restart it once records flow.
        batch(["-n", "2000", "--seed", "1002", "-r", "250"], (250, ["docker", "restart", registry], 120))
        wait_healthy(cluster_file, ["schema-registry"], env, 240)
        # Stored durably: no producer has started since the restart, and the batch's producer framed its
        # first record before it and never asks the registry again (txpipe.producer.Sender), so nothing
        # registered the schema anew; yet the id and the subject's version are served as before. An
        # in-memory registry, empty after a restart, answers 404 to both.
        status, schema = registry_get(f"{registry_url}/schemas/ids/{kept['id']}")
        assert status == 200, f"after the restart, schema id {kept['id']} answers HTTP {status}: the registry lost it"
        assert schema["schema"] == kept_schema["schema"], f"after the restart, schema id {kept['id']} is another schema"
        status, latest = registry_get(f"{registry_url}/subjects/{subject_name}/versions/latest")
        assert status == 200, f"after the restart, {subject_name} answers HTTP {status}: the registry lost it"
        assert (latest["id"], latest["version"]) == (kept["id"], kept["version"]), (
            f"after the restart, {subject_name}'s latest version is {latest}, before it was {kept}"
        )
        _run([*apps_cmd, "restart", "consumer"], 180, env)
        # The last batch the way the compose file's header says to send more: only the count (and a
        # seed, for the expected totals); connection settings come from the service's environment.
        more = ["-n", "500", "--seed", "1003"]
        out = _run([*apps_cmd, "run", "--rm", "producer", *more], 300, env).stdout
        assert "delivered=500 failed=0" in out, out[-2000:]
        sent.append(more)
        expected = expected_totals(*sent)
        lines = wait_for_log_totals(readme.apps_logs, env, expected, 300, "after the registry restarted")
        check_totals_topic(bootstrap, expected, sum(map(batch_size, sent)), "after the registry restarted")
        assert dlq_records(bootstrap) == 0, "records went to the DLQ after the registry restarted"
        subject = verify.registry_subject(registry_url, subject_name)
        assert subject["id"] == kept["id"], f"{subject_name} has id {subject['id']} after the last batch, {kept['id']} before"
        assert registry_get(f"{registry_url}/schemas/ids/{subject['id']}")[0] == 200
        per_instance = {}
        for _, service, _, _ in lines:
            per_instance[service] = per_instance.get(service, 0) + 1
        assert len(per_instance) == 3 and all(per_instance.values()), f"lines per consumer instance: {per_instance}"
        print(f"lines per consumer instance: {per_instance}; transactions sent: {sum(map(batch_size, sent))}")
        steps.done("registry restarted mid-batch, consumers restarted, nothing in the DLQ")
    finally:
        for proc in extra:
            if proc.poll() is None:
                proc.kill()
        # 6. The README's down commands (also the clean-up when a step above failed).
        _run(readme.apps_down, 300, env, check=False)
        down = _run(readme.cluster_down, 300, env, check=False)
    assert down.returncode == 0, down.stderr
    left = {
        "containers": _run(
            ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={CLUSTER_PROJECT}"], 30
        ).stdout
        + _run(["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={APPS_PROJECT}"], 30).stdout
        + _run(
            ["docker", "ps", "-a", "-q", "--filter", "ancestor=kafka-producer:v1.0", "--filter", "ancestor=kafka-consumer:v1.0"],
            30,
        ).stdout,
        "networks": _run(["docker", "network", "ls", "-q", "--filter", f"name=^{NETWORK}$"], 30).stdout,
        "volumes": _run(
            ["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={CLUSTER_PROJECT}"], 30
        ).stdout
        + _run(["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={APPS_PROJECT}"], 30).stdout,
    }
    assert not any(v.strip() for v in left.values()), f"left behind after down: {left}"
    steps.done("down, down -v: nothing left")
    print(f"[compose walkthrough] step durations: {steps.times}")
