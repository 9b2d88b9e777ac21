"""The producer image gets the producer package only; the dev venv gets the tooling too.

The image installs the package with `pip install --no-deps .` from a build context of pyproject.toml
and src/ (docker/Dockerfile, .dockerignore); the same install into an empty folder must hold the
txpipe modules the product ships and no tooling module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.product import PRODUCT_MODULES, TOOLING_NAMES

ROOT = Path(__file__).resolve().parents[2]


def _pip_install_target(tmp_path: Path) -> Path:
    """`pip install --no-deps .` (as the Dockerfile runs it) from a copy of its build context, into a new folder."""
    context = tmp_path / "context"
    (context / "src").mkdir(parents=True)
    shutil.copy2(ROOT / "pyproject.toml", context / "pyproject.toml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for entry in (ROOT / "src").iterdir():
        if entry.is_dir():
            shutil.copytree(entry, context / "src" / entry.name, ignore=ignore)
    target = tmp_path / "target"
    # No build isolation and no index: the venv's pinned setuptools builds it, nothing is downloaded.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"
    return target


def test_pip_install_puts_only_the_producer_package_in_place(tmp_path):
    target = _pip_install_target(tmp_path)
    top_level = {p.name for p in target.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin"}
    assert top_level == {"txpipe"}, f"pip install . installs more than the producer package: {sorted(top_level)}"
    installed = {p.stem for p in (target / "txpipe").iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert installed == PRODUCT_MODULES, (
        f"the producer package ships {sorted(installed - PRODUCT_MODULES)} beyond the product "
        f"and lacks {sorted(PRODUCT_MODULES - installed)}; tooling goes to src/txpipe_tools, test helpers to tests/support"
    )
    everything = [str(p.relative_to(target)) for p in target.rglob("*")]
    for name in TOOLING_NAMES:
        assert not [p for p in everything if name in p], f"{name} is in what pip installs"


def test_the_dev_venv_runs_the_tooling_from_any_folder(tmp_path):
    for cwd in (ROOT, tmp_path):
        result = subprocess.run(
            [sys.executable, "-m", "txpipe_tools.local_stack", "--help"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"from {cwd}: {result.stderr}"
        assert "python3 -m txpipe_tools.local_stack" in result.stdout


def test_the_local_stack_needs_only_the_standard_library(tmp_path):
    """`make stack-down` runs it with the system python and PYTHONPATH=src, before any venv exists."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # -S: no site-packages at all, so an import of anything but the standard library fails.
    result = subprocess.run(
        [sys.executable, "-S", "-m", "txpipe_tools.local_stack", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
