"""The README cannot rot: every command it shows is run somewhere for real, its flag tables are the
programs' own flags, it names the consumer's JVM-options file instead of copying it, its links and
those of docs/ lead somewhere, and it stays short enough to read in ten minutes.

No network; the only process started is the producer's `--help`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme import (
    JVM_OPTIONS,
    README,
    ROOT,
    SHELL_BLOCKS,
    check_flag_table,
    code_spans,
    fenced_blocks,
    flag_table,
    help_options,
    readme_text,
    shell_commands,
    without_fences,
)

MAX_README_BYTES = 12_288  # the "about 12 KB at most"

WALKTHROUGH = "tests/container/test_compose.py::test_readme_compose_walkthrough"
OWN_CLUSTER = "tests/integration/test_readme_commands.py::test_own_cluster_block_runs_as_written"
DEMO = "tests/integration/test_readme_commands.py::test_make_demo"

# Every command of the README's shell blocks, and where it is run for real: a test
# ("path::test_name", which must still exist) or a file that runs it ("path", which must still
# hold the command). A command the README gains must be added here with the place that runs it.
RUN_BY = {
    # Quick start
    "make demo": DEMO,  # the demo against the test session's stack (ARGS=-b/-s: the default ports may be taken)
    "make test": ".ci/run",
    # Your own cluster: the block is read and run line by line against the test session's stack
    "make setup": OWN_CLUSTER,
    "export TXPIPE_BOOTSTRAP_SERVERS=kafka-1:9092 TXPIPE_SCHEMA_REGISTRY=http://registry:8081 "
    "TXPIPE_TOPIC=transactions": OWN_CLUSTER,
    "java @docker/consumer.jvm-options -jar scala/target/txpipe-consumer.jar --state-dir state -g totals "
    '-b "$TXPIPE_BOOTSTRAP_SERVERS" -s "$TXPIPE_SCHEMA_REGISTRY" -t "$TXPIPE_TOPIC" &': OWN_CLUSTER,
    ".venv/bin/python -m txpipe.producer -n 5000": OWN_CLUSTER,
    # Docker: tests/container/test_compose.py parses the section and runs these
    "docker build -t kafka-producer:v1.0 --target producer . -f docker/Dockerfile": WALKTHROUGH,
    "docker build -t kafka-consumer:v1.0 --target consumer . -f docker/Dockerfile": WALKTHROUGH,
    "docker compose -f docker/docker-compose.yml up -d --wait": WALKTHROUGH,
    "docker run --rm --network docker_default kafka-producer:v1.0 -b broker:9092 "
    "-s http://schema-registry:8081/apis/ccompat/v7 -t assignment": WALKTHROUGH,
    "docker run --rm --network docker_default kafka-consumer:v1.0 -b broker:9092 "
    "-s http://schema-registry:8081/apis/ccompat/v7 -t assignment -g customerGroup": WALKTHROUGH,
    "docker compose -f docker/docker-compose-prod-cons.yml up -d --build --scale consumer=3": WALKTHROUGH,
    "docker compose -f docker/docker-compose-prod-cons.yml logs -f consumer": WALKTHROUGH,
    "docker compose -f docker/docker-compose-prod-cons.yml port --index 1 consumer 8080": WALKTHROUGH,
    "docker compose -f docker/docker-compose-prod-cons.yml down": WALKTHROUGH,
    "docker compose -f docker/docker-compose.yml down -v": WALKTHROUGH,
    # Live totals: run against a consumer of the test, on its port and one of its accounts
    "curl -s http://127.0.0.1:8080/accounts/ACC-0007": "tests/integration/test_live_totals.py::"
    "test_one_instance_serves_committed_totals_pages_health_and_metrics",
}

# A line in a block not marked as shell that starts like one of these is a command hiding from RUN_BY.
COMMAND_STARTS = ("$ ", "make ", "docker ", "java ", "python ", "python3 ", ".venv/", "bash ", "export ", "pip ", "tox ")

# JVM options as the README and docs would quote them (-Xms160m, -XX:+UseSerialGC, -Xlog:disable, ...).
JVM_FLAG = re.compile(r"(?<![\w-])-X(?:X:[^\s`'\",)]+|m[sx]\w*|ss\w*|log:[^\s`'\",)]+)")


def docs_pages() -> list[Path]:
    return sorted((ROOT / "docs").rglob("*.md"))


def current_docs() -> list[Path]:
    """The README and the docs that describe the code as it is (docs/bench/ keeps history)."""
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


# ---------------------------------------------------------------------------------------------
# Commands


def test_every_readme_command_is_run_somewhere():
    commands = shell_commands(readme_text())
    assert commands, "the README has no shell block"
    missing = [c for c in commands if c not in RUN_BY]
    assert not missing, (
        "README commands that no test runs; add each to RUN_BY in tests/unit/test_readme.py with the test "
        f"or script that runs it (or write that test): {missing}"
    )


def test_the_list_names_only_readme_commands_and_places_that_exist():
    commands = set(shell_commands(readme_text()))
    stale = [c for c in RUN_BY if c not in commands]
    assert not stale, f"RUN_BY lists commands the README no longer shows: {stale}"
    for command, where in RUN_BY.items():
        path, _, test = where.partition("::")
        file = ROOT / path
        assert file.is_file(), f"{command!r} is said to run in {path}, which does not exist"
        text = file.read_text(encoding="utf-8")
        if test:
            assert re.search(rf"^def {re.escape(test)}\(", text, re.M), f"{command!r}: {path} has no test {test}"
        else:
            assert command in text, f"{command!r} is said to run in {path}, which does not hold it"


def test_no_command_hides_in_a_block_not_marked_as_shell():
    for info, body in fenced_blocks(readme_text()):
        if info in SHELL_BLOCKS:
            continue
        hidden = [line for line in body.splitlines() if line.strip().startswith(COMMAND_STARTS)]
        assert not hidden, f"commands in a ```{info} block (mark it ```bash so RUN_BY covers it): {hidden}"


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {t for t in re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", makefile, re.M)}


@pytest.mark.parametrize("page", current_docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_named_make_targets_and_modules_exist(page: Path):
    targets = _make_targets()
    code = "\n".join(code_spans(page.read_text(encoding="utf-8")))
    for target in re.findall(r"(?:^|[\s`(])make ([a-z][\w-]*)", code, re.M):
        assert target in targets, f"{page.name} names `make {target}`, which the Makefile does not have"
    for module in set(re.findall(r"(?:^|\s)-m ([A-Za-z_][\w.]*)", code, re.M)):
        assert _module_exists(module), f"{page.name} names `python -m {module}`, which does not exist"


def _module_exists(module: str) -> bool:
    """A module of this repository (a .py file or a package with __main__.py under the root, src/
    or tools/), or an installed one such as pytest."""
    parts = module.split(".")
    for base in (ROOT, ROOT / "src", ROOT / "tools"):
        if (base / parts[0]).exists() or (base / f"{parts[0]}.py").exists():
            path = base.joinpath(*parts)
            return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()
    return importlib.util.find_spec(parts[0]) is not None


# ---------------------------------------------------------------------------------------------
# Flags


def producer_help() -> str:
    env = {**os.environ, "COLUMNS": "1000"}  # one line per option's invocation
    result = subprocess.run(
        [sys.executable, "-m", "txpipe.producer", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_producer_flags_table_is_its_help():
    options = help_options(producer_help())
    assert {"-b", "--topic", "-X", "--rejects"} <= set(options), f"the help parser found too little: {options}"
    check_flag_table(flag_table(readme_text(), "Producer"), options, "README ## Producer")


def scala_options() -> dict[str, str | None]:
    """The consumer's options as its parser (Options.scala) declares them, with the literal defaults
    their help states. The integration tier compares the table with the jar's --help as well."""
    source = (ROOT / "scala" / "src" / "main" / "scala" / "txpipe" / "consumer" / "Options.scala").read_text(encoding="utf-8")
    options: dict[str, str | None] = {}
    for chunk in source.split("opt[")[1:]:
        m = re.match(r"\w+\]\(\s*(?:'(\w)',\s*)?\"([\w-]+)\"\s*\)", chunk)
        assert m, f"Options.scala: cannot read the option at {chunk[:80]!r}"
        default = re.search(r"\(default (\d+[a-z]*)\)", chunk)
        for flag in ([f"-{m.group(1)}"] if m.group(1) else []) + [f"--{m.group(2)}"]:
            options[flag] = default.group(1) if default else None
    return options


def test_consumer_flags_table_is_its_parser():
    options = scala_options()
    assert {"-b", "--group", "--dedupe-retention", "-X"} <= set(options), f"the source reader found too little: {options}"
    check_flag_table(flag_table(readme_text(), "Consumer"), options, "README ## Consumer")


def test_help_reader_reads_both_styles():
    """help_options on a sample of each parser's layout, so a table check cannot pass by reading nothing."""
    argparse_style = (
        "options:\n  -h, --help            show this help message and exit\n"
        "  -n COUNT, --count COUNT\n                        synthetic transactions to send (default 1000)\n"
        "  --seed SEED           random seed (default: a fresh one each run)\n"
    )
    assert help_options(argparse_style) == {"-n": "1000", "--count": "1000", "--seed": None}
    scopt_style = (
        "Usage: txpipe-consumer [options]\n\n  -b, --bootstrap-servers HOST:PORT,...\n"
        "                           Kafka bootstrap servers\n"
        "  --dedupe-retention DURATION\n                           ids are remembered (default 7d)\n"
    )
    assert help_options(scopt_style) == {"-b": None, "--bootstrap-servers": None, "--dedupe-retention": "7d"}


# ---------------------------------------------------------------------------------------------
# The JVM options: one home


def test_readme_names_the_jvm_options_file_and_copies_none_of_it():
    text = readme_text()
    name = str(JVM_OPTIONS.relative_to(ROOT))
    assert name in text, f"the README should name {name}, where the consumer's JVM flags live"
    assert JVM_OPTIONS.is_file(), f"{name} is missing"
    copied = JVM_FLAG.findall(text)
    assert not copied, f"the README copies JVM flags {copied}: name {name} instead"


def _jvm_flag_sources() -> str:
    """The JVM-options file and every Python source and Dockerfile of the repository: where a JVM
    flag a document names must be used."""
    texts = [JVM_OPTIONS.read_text(encoding="utf-8")]
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("target", "node_modules", "__pycache__")]
        for f in files:
            if f.endswith(".py") or f == "Dockerfile":
                texts.append(Path(folder, f).read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def test_jvm_flags_the_docs_name_are_the_ones_in_use():
    sources = _jvm_flag_sources()
    for page in current_docs():
        for flag in JVM_FLAG.findall(without_fences(page.read_text(encoding="utf-8"))):
            assert flag in sources, f"{page.name} names the JVM flag {flag}, which neither {JVM_OPTIONS.name} nor the code uses"


# ---------------------------------------------------------------------------------------------
# Links and size


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", without_fences(page.read_text(encoding="utf-8")), re.M)}


@pytest.mark.parametrize("page", [README, *docs_pages()], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_somewhere(page: Path):
    text = without_fences(page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    targets += re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", text, re.M)
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{page.relative_to(ROOT)} links to {target}: no such heading in {dest.name}"


def test_readme_reads_in_ten_minutes():
    size = README.stat().st_size
    assert size < MAX_README_BYTES, f"README.md is {size} bytes; keep it under {MAX_README_BYTES} and move detail to docs/"
