"""tox.ini (issue 21): it has environments for the unit tests, lint and types, and lint and types run
the same tools on the same paths as `make lint`, which `make test` runs. The Makefile is read, not
copied here, so changing one without the other fails this test."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ".venv/bin/"


def _makefile() -> str:
    return (ROOT / "Makefile").read_text(encoding="utf-8")


def _make_variables(makefile: str) -> dict[str, str]:
    """The Makefile's plain assignments (NAME := value, ?=, =), values as written."""
    found = re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?::=|\?=|=)\s*(.*?)\s*$", makefile, re.M)
    return dict(found)


def _expand(text: str, variables: dict[str, str]) -> str:
    for _ in range(10):  # variables naming variables, a few levels deep
        text, n = re.subn(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), text)
        if n == 0:
            break
    return text


def _recipe(target: str) -> tuple[list[str], list[str]]:
    """`make <target>`'s prerequisites and recipe lines, the Makefile's variables expanded."""
    makefile = _makefile()
    variables = _make_variables(makefile)
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"{re.escape(target)}\s*:(?!=)", line))
    prerequisites = _expand(lines[start].split(":", 1)[1], variables).split()
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(_expand(line.strip().lstrip("@"), variables))
    return prerequisites, recipe


def _as_tool(command: str) -> str:
    """A command with the venv's bin folder dropped (tox puts its own on PATH), words normalised."""
    words = shlex.split(command.replace("{posargs}", ""))
    if words and words[0].startswith(VENV_BIN):
        words[0] = words[0][len(VENV_BIN) :]
    return " ".join(words)


def _tox() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini", encoding="utf-8")
    return config


def _env_value(config: configparser.ConfigParser, env: str, key: str) -> list[str]:
    """An environment's setting (falling back to [testenv], as tox does), one entry a line."""
    section = f"testenv:{env}"
    value = config.get(section, key, fallback=None)
    if value is None:
        value = config.get("testenv", key, fallback="")
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_tox_has_environments_for_unit_tests_lint_and_types():
    config = _tox()
    envs = re.split(r"[,\s]+", config.get("tox", "env_list", fallback=config.get("tox", "envlist", fallback="")).strip())
    for env in ("unit", "lint", "types"):
        assert env in envs, f"tox.ini's env_list lacks {env}"
        assert config.has_section(f"testenv:{env}"), f"tox.ini has no [testenv:{env}]"
    unit = [_as_tool(c) for c in _env_value(config, "unit", "commands")]
    assert unit == ["pytest tests/unit"], unit
    assert (ROOT / "tests" / "unit").is_dir()


def test_tox_lint_and_types_run_what_make_lint_runs():
    _, recipe = _recipe("lint")
    make_lint = [_as_tool(c) for c in recipe]
    # The tools `make lint` is documented to run; their paths and options come from the Makefile.
    tools = ["ruff check", "ruff format --check", "mypy"]
    assert len(make_lint) == len(tools), make_lint
    for command, tool in zip(make_lint, tools, strict=True):
        assert command == tool or command.startswith(tool + " "), make_lint
    config = _tox()
    tox_runs = [_as_tool(c) for env in ("lint", "types") for c in _env_value(config, env, "commands")]
    assert tox_runs == make_lint, f"tox.ini runs {tox_runs}; make lint runs {make_lint}"


def test_tox_types_compiles_the_protos_first_as_make_lint_does():
    # mypy reads the generated modules' .pyi stubs: `make lint` needs `make proto`, and tox the same step.
    prerequisites, _ = _recipe("lint")
    assert "proto" in prerequisites
    _, proto = _recipe("proto")
    steps = [_as_tool(c) for c in _env_value(_tox(), "types", "commands_pre")]
    assert [s.split(" -m ", 1)[1] for s in steps] == [c.split(" -m ", 1)[1] for c in proto], (steps, proto)
