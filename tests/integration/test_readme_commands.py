"""The README's commands outside Docker, run for real on the test session's local stack:
`make demo`, and the "Your own cluster" block read from the README and run line by line with the
stack's addresses in place of the example ones. The consumer's flags table is compared with the
jar's own --help. (tests/unit/test_readme.py checks that every README command is run somewhere;
the Docker section is run by tests/container/test_compose.py.)
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import threading
import time
from decimal import Decimal

import pytest

from tests.readme import JAR, ROOT, check_flag_table, commands_of, fenced_blocks, flag_table, help_options, readme_text, section
from txpipe import generator, producer
from txpipe.totals import amount_decimal, format_total

pytestmark = pytest.mark.integration

LINE = re.compile(r"^\((?P<account>.*), (?P<total>-?\d+\.\d+)\)$")


def _run(cmd: list[str], timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{shlex.join(cmd)}` did not finish within {timeout:.0f}s")
    assert result.returncode == 0, (
        f"`{shlex.join(cmd)}` exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def test_make_demo(stack):
    """The README's `make demo`, pointed at the session's stack (the demo's own stack would take
    the default ports 9092/8081, which another stack on the machine may hold)."""
    assert "make demo" in commands_of(section(readme_text(), "Quick start")), "the README's quick start lost `make demo`"
    args = f"-b {stack.bootstrap_servers} -s {stack.schema_registry_url} -n 300 --quiet-lines"
    result = _run(["make", "--no-print-directory", "demo", f"ARGS={args}"], 1800)
    assert "==> OK: 300 transactions" in result.stdout, result.stdout[-3000:]


def _expand(token: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], token)


def _with_value(tokens: list[str], flag: str, value: str) -> list[str]:
    assert flag in tokens, f"the README's consumer line has no {flag}"
    i = tokens.index(flag)
    return [*tokens[: i + 1], value, *tokens[i + 2 :]]


def _expected_totals(argv: list[str], seed: int) -> tuple[int, dict[str, str]]:
    args = producer.parse_args(["-b", "-", "-s", "-", "-t", "readme", *argv, "--seed", str(seed)])
    sums: dict[str, Decimal] = {}
    for tx in generator.generate(args.count, args.accounts, args.seed):
        sums[tx.account_number] = sums.get(tx.account_number, Decimal(0)) + amount_decimal(tx.amount)
    return args.count, {account: format_total(total) for account, total in sums.items()}


def test_own_cluster_block_runs_as_written(stack, tmp_path):
    """Each line of the README's "Your own cluster" block, in order, with the session stack's
    addresses and a fresh topic as the exported values, and a state dir and group of the test's
    own for the consumer; then the consumer must log the totals of what the producer sent."""
    blocks = [body for info, body in fenced_blocks(section(readme_text(), "Your own cluster")) if info == "bash"]
    assert len(blocks) == 1, "the README's 'Your own cluster' section should have one bash block"
    commands = commands_of(blocks[0])
    topic = f"it-readme-{secrets.token_hex(4)}"
    ours = {
        "TXPIPE_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        "TXPIPE_SCHEMA_REGISTRY": stack.schema_registry_url,
        "TXPIPE_TOPIC": topic,
    }
    env = {**os.environ}
    consumer: subprocess.Popen | None = None
    lines: dict[str, str] = {}
    stderr_log = tmp_path / "consumer.log"
    sent: list[tuple[list[str], str]] = []
    try:
        for command in commands:
            tokens = shlex.split(command.removesuffix("&"))
            if tokens[0] == "export":
                names = {pair.split("=", 1)[0] for pair in tokens[1:]}
                assert names == set(producer.ENVIRONMENT.values()), (
                    f"the block exports {names}, the producer reads {producer.ENVIRONMENT}"
                )
                env.update(ours)
                continue
            tokens = [_expand(t, env) for t in tokens]
            if command.endswith("&"):
                assert consumer is None and tokens[0] == "java", f"one background command, the consumer: {command}"
                tokens = _with_value(tokens, "--state-dir", str(tmp_path / "state"))
                tokens = _with_value(tokens, "-g", f"g-{topic}")
                with stderr_log.open("w") as stderr:
                    consumer = subprocess.Popen(
                        tokens, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True
                    )
                threading.Thread(target=_read_lines, args=(consumer, lines), daemon=True).start()
                continue
            result = _run(tokens, 1800, env)
            if "txpipe.producer" in tokens:
                sent.append((tokens[tokens.index("txpipe.producer") + 1 :], result.stdout))
        assert consumer is not None and len(sent) == 1, (
            f"the block should start the consumer and run the producer once: {commands}"
        )
        argv, output = sent[0]
        seed = re.findall(r"\bseed=(\d+)", output)
        assert seed, f"the producer's summary names no seed: {output[-1000:]}"
        n, expected = _expected_totals(argv, int(seed[-1]))
        assert f"delivered={n} failed=0" in output, output[-2000:]
        _wait_for(lines, expected, consumer, stderr_log, timeout=300)
    finally:
        if consumer is not None and consumer.poll() is None:
            consumer.send_signal(signal.SIGTERM)
            try:
                consumer.wait(60)
            except subprocess.TimeoutExpired:
                consumer.kill()
                consumer.wait(10)
                pytest.fail("the README's consumer did not stop within 60s of SIGTERM")


def _read_lines(proc: subprocess.Popen, last: dict[str, str]) -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        m = LINE.match(raw.rstrip("\n"))
        if m:
            last[m["account"]] = m["total"]


def _wait_for(last: dict[str, str], expected: dict[str, str], proc: subprocess.Popen, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while dict(last) != expected and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    if dict(last) != expected:
        differ = {a: (last.get(a), t) for a, t in expected.items() if last.get(a) != t}
        state = f"exited {proc.returncode}" if proc.poll() is not None else "still running"
        pytest.fail(
            f"the README's consumer ({state}) did not log the producer's totals within {timeout:.0f}s; "
            f"(logged, expected) of differing accounts: {dict(list(differ.items())[:5])}\n"
            f"stderr tail:\n{log.read_text()[-3000:]}"
        )


def test_consumer_flags_table_is_the_jars_help():
    assert JAR.is_file(), "the consumer jar is needed: make consumer-jar"
    result = _run(["java", "-jar", str(JAR), "--help"], 120)
    options = help_options(result.stdout)
    assert {"-b", "--group", "--dedupe-retention", "-X"} <= set(options), f"the help reader found too little: {options}"
    check_flag_table(flag_table(readme_text(), "Consumer"), options, "README ## Consumer vs the jar's --help")
