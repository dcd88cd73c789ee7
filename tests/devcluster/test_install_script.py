"""scripts/install.sh builds a working environment on the newest supported Python (3.11-3.13)
and is quick to run again."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("pyproject.toml", "uv.lock", "README.md", "scripts/install.sh")
PACKAGES = ("bot", "workers", "telegram_emulator", "devcluster")


def _install(checkout: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    return subprocess.run(
        ["bash", "scripts/install.sh"],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def fresh_checkout(tmp_path: Path) -> Path:
    """A copy of the project without .venv, as on a machine that has never run it."""
    for relative in PROJECT_FILES:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / relative, tmp_path / relative)
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def test_install_creates_the_environment_then_leaves_it_alone(fresh_checkout: Path) -> None:
    first = _install(fresh_checkout)
    assert first.returncode == 0, first.stdout + first.stderr
    python = fresh_checkout / ".venv" / "bin" / "python"
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, pymongo, redis, telegram, celery, starlette, devcluster;"
            "print((3, 11) <= sys.version_info[:2] <= (3, 13), devcluster.__file__)",
        ],
        cwd="/",  # away from any checkout, so only the installed mapping can resolve imports
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert probe.stdout.startswith("True ")
    # The project is installed from this checkout, not from wherever the tests run.
    assert str(fresh_checkout) in probe.stdout
    for tool in ("ruff", "mypy", "lint-imports", "pytest", "secantusd-py", "celery", "gunicorn"):
        assert (fresh_checkout / ".venv" / "bin" / tool).exists(), tool

    interpreter_link = (fresh_checkout / ".venv" / "bin" / "python").lstat().st_mtime_ns
    second = _install(fresh_checkout)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "system packages present" in second.stdout
    assert "Python: the one in .venv" in second.stdout
    # The venv was reused, not rebuilt (a rebuild would pull it from under running processes).
    assert (fresh_checkout / ".venv" / "bin" / "python").lstat().st_mtime_ns == interpreter_link
