"""`make test` runs pytest with --fail-on-skip: a skipped test must fail the run, not pass it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
SUITE = """
import pytest

def test_passes():
    pass

def test_is_skipped():
    pytest.skip("needs something missing")
"""


def _run_suite(directory: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *flags, str(directory)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def suite_with_a_skip(tmp_path: Path) -> Path:
    shutil.copy(ROOT_CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(SUITE)
    return tmp_path


def test_a_skip_fails_the_run_with_the_flag(suite_with_a_skip: Path) -> None:
    result = _run_suite(suite_with_a_skip, "--fail-on-skip")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "1 test(s) skipped" in result.stdout


def test_without_the_flag_a_skip_is_tolerated(suite_with_a_skip: Path) -> None:
    assert _run_suite(suite_with_a_skip).returncode == pytest.ExitCode.OK


def test_an_empty_run_is_a_failure_exit_code(tmp_path: Path) -> None:
    shutil.copy(ROOT_CONFTEST, tmp_path / "conftest.py")
    result = _run_suite(tmp_path, "--fail-on-skip")
    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED
