"""Reading the README as data: its sections, the commands of its shell blocks, its flag tables,
and the flags a `--help` text lists. Shared by tests/unit/test_readme.py (no network) and
tests/integration/test_readme_commands.py (which runs the commands)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
JVM_OPTIONS = ROOT / "docker" / "consumer.jvm-options"
JAR = ROOT / "scala" / "target" / "txpipe-consumer.jar"

# Fenced blocks whose info string says shell: their lines are commands a user runs.
SHELL_BLOCKS = ("bash", "sh", "shell", "console")
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def section(text: str, title: str) -> str:
    """The body of the `## title` section, up to the next `## ` heading or the end."""
    m = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"README has no '## {title}' section"
    return m.group(1)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced block, in order."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]


def commands_of(body: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comments and prompts dropped,
    whitespace collapsed."""
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        line = re.sub(r"^\$\s+", "", line)
        if line:
            commands.append(re.sub(r"\s+", " ", line))
    return commands


def shell_commands(text: str) -> list[str]:
    """Every command of every shell block of `text`, in order."""
    out: list[str] = []
    for info, body in fenced_blocks(text):
        if info in SHELL_BLOCKS:
            out += commands_of(body)
    return out


def without_fences(text: str) -> str:
    return _FENCE.sub("", text)


def code_spans(text: str) -> list[str]:
    """Inline code spans and fenced block bodies: where a document names commands and flags."""
    return [body for _, body in fenced_blocks(text)] + re.findall(r"`([^`\n]+)`", without_fences(text))


def table_rows(body: str) -> list[list[str]]:
    """The cells of every row of the first markdown table in `body` (header and rule left out)."""
    rows: list[list[str]] = []
    started = False
    for line in body.splitlines():
        if line.startswith("|"):
            started = True
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif started:
            break
    assert len(rows) >= 2 and set(rows[1][0]) <= set("-: "), f"no table found in:\n{body[:500]}"
    return rows[2:]


def flags_of_cell(cell: str) -> list[str]:
    """`-b`, `--bootstrap-servers` -> ["-b", "--bootstrap-servers"]; `--rejects FILE` -> ["--rejects"]."""
    return [span.split()[0] for span in re.findall(r"`([^`]+)`", cell) if span.startswith("-")]


def flag_table(text: str, title: str) -> dict[str, str]:
    """Each flag of a section's table, mapped to the text of its default cell (backticks dropped)."""
    table: dict[str, str] = {}
    for cells in table_rows(section(text, title)):
        flags = flags_of_cell(cells[0])
        assert flags, f"## {title}: a row names no flag: {cells}"
        for flag in flags:
            assert flag not in table, f"## {title}: {flag} appears twice"
            table[flag] = cells[1].replace("`", "").strip()
    return table


# A default worth comparing: an environment variable, a number, a duration or a snake_case value.
_COMPARABLE = re.compile(r"\$[A-Z_]+|-?\d+(?:\.\d+)?[a-z]*|[a-z]+_[a-z0-9_]+")


def help_options(help_text: str) -> dict[str, str | None]:
    """The options of an argparse or scopt `--help` text, each mapped to the default its help
    states (when it is a comparable literal), else None. Expects help printed wide (no wrapping
    inside an option's invocation)."""
    entries: list[tuple[list[str], str]] = []
    for line in help_text.splitlines():
        m = re.match(r"^ {1,4}(-\S.*?)(?: {2,}(.*))?$", line)
        if m:
            flags = re.findall(r"(?:^|, )(-{1,2}[A-Za-z][\w-]*)", m.group(1))
            entries.append((flags, m.group(2) or ""))
        elif entries and line.startswith("      ") and line.strip():
            entries[-1] = (entries[-1][0], entries[-1][1] + " " + line.strip())
    options: dict[str, str | None] = {}
    for flags, text in entries:
        found = re.search(r"\bdefault:?\s+([^\s;:,)]+)", " ".join(text.split()))
        value = found.group(1) if found and _COMPARABLE.fullmatch(found.group(1)) else None
        for flag in flags:
            options[flag] = value
    for own in ("-h", "--help"):
        options.pop(own, None)
    return options


def first_word(cell: str) -> str:
    return cell.split()[0] if cell.split() else ""


def check_flag_table(table: dict[str, str], options: dict[str, str | None], what: str) -> None:
    """The README's table has exactly the program's flags, and each default the program states."""
    assert set(table) == set(options), (
        f"{what}: flags only in the README table: {sorted(set(table) - set(options))}; "
        f"only in the program: {sorted(set(options) - set(table))}"
    )
    for flag, default in options.items():
        if default is not None:
            assert first_word(table[flag]) == default, f"{what}: {flag}'s default is {default}, the README says {table[flag]!r}"
