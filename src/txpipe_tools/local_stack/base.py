"""What every part of the local stack shares: its folders, its error type and its log line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
STACK_DIR = Path(os.environ.get("TXPIPE_STACK_DIR", REPO_ROOT / ".stack")).resolve()
# The default run directory (state.json, logs/). Tests pass their own run_dir so that they never
# touch, or are refused by, a stack the developer left running.
DEFAULT_RUN_DIR = STACK_DIR


class StackError(RuntimeError):
    """Something in the local stack could not be installed, started or stopped."""


def log(msg: str) -> None:
    print(f"[local_stack] {msg}", file=sys.stderr, flush=True)


def resolve_run_dir(run_dir: Path | str | None) -> Path:
    """The run directory given, or the default one, as an absolute path."""
    return Path(run_dir or DEFAULT_RUN_DIR).resolve()


def log_dir(run_dir: Path | None = None) -> Path:
    """Where the stack's logs are kept."""
    return Path(run_dir or DEFAULT_RUN_DIR) / "logs"
