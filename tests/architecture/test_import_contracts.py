"""Design §3 is enforced: lint-imports passes on the real tree and catches each kind of breach."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ANALYSED_PACKAGES = ("bot", "workers", "devcluster", "ops")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _run_lint_imports(project_root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first, so grimp analyses the packages under project_root even though the
    # editable install maps the same names to the real checkout.
    env = {**os.environ, "PYTHONPATH": str(project_root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(project_root / "pyproject.toml")],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_real_tree_keeps_every_contract() -> None:
    result = _run_lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    for package in ANALYSED_PACKAGES:
        shutil.copytree(
            REPO_ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("offending_module", "offending_import", "broken_contract"),
    [
        ("bot/domain/_breach.py", "import pymongo", "bot.domain imports only the standard library"),
        ("bot/domain/_breach.py", "import bot.services", "bot layers"),
        ("bot/services/_breach.py", "import bot.infra", "bot layers"),
        ("bot/infra/_breach.py", "import bot.bootstrap", "bot layers"),
        ("bot/bootstrap.py", "import bot.web", "bot layers"),
        ("bot/telegram/_breach.py", "import bot.web", "bot layers"),
        ("workers/_breach.py", "import bot.telegram.notice_sender", "workers reach the product"),
        ("workers/runtime.py", "import bot.telegram.screens", "workers reach the product"),
        ("bot/telegram/render.py", "import bot.telegram.sessions", "imports no handler module"),
        ("bot/telegram/notifications.py", "import bot.telegram.menu", "imports no handler module"),
        ("bot/services/_breach.py", "import redis", "bot.services uses ports"),
        ("bot/telegram/_breach.py", "import bot.infra", "bot layers"),
        ("bot/telegram/_breach.py", "import redis", "only bot.infra, the composition root"),
        ("bot/cli/_breach.py", "import pymongo", "only bot.infra, the composition root"),
        ("bot/infra/_breach.py", "import starlette", "Starlette and the ASGI servers"),
        ("bot/infra/_breach.py", "import workers", "the product never imports workers"),
        ("bot/cli/_breach.py", "import ops.monitor", "the product never imports the operator's"),
        ("ops/_breach.py", "import devcluster.state", "the operator's monitor imports neither"),
        ("ops/_breach.py", "import bot.settings", "the operator's monitor imports neither"),
    ],
)
def test_a_breach_is_caught(
    project_copy: Path, offending_module: str, offending_import: str, broken_contract: str
) -> None:
    assert _run_lint_imports(project_copy).returncode == 0, "the copy must start clean"
    # Appended, so an existing module (bot/bootstrap.py) keeps its own imports as well.
    with (project_copy / offending_module).open("a") as module:
        module.write(f"\n{offending_import}\n")

    result = _run_lint_imports(project_copy)

    assert result.returncode != 0
    module_name = offending_module.removesuffix(".py").replace("/", ".")
    assert module_name in result.stdout, result.stdout
    broken_lines = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    report = result.stdout.replace("\n", " ")
    assert broken_contract in report, result.stdout
    assert broken_lines, result.stdout


def _non_stdlib_imports(source: str, package: str) -> list[str]:
    """Top-level modules imported by `source` (a module of `package`) outside the stdlib."""
    outside = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            top_level = name.split(".")[0]
            if top_level in sys.stdlib_module_names or top_level == "__future__":
                continue
            if name == "bot.domain" or name.startswith("bot.domain."):
                continue
            outside.append(name)
    return outside


def _package_of(path: Path) -> str:
    return ".".join(path.parent.relative_to(REPO_ROOT).parts)


def test_domain_imports_nothing_but_the_standard_library() -> None:
    """Stricter than the import-linter list: any third-party or other-layer import is caught."""
    domain = REPO_ROOT / "bot" / "domain"
    offenders = {
        str(path.relative_to(REPO_ROOT)): found
        for path in sorted(domain.rglob("*.py"))
        if (found := _non_stdlib_imports(path.read_text(), _package_of(path)))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import yaml", ["yaml"]),
        ("from bot.infra.mongo import client", ["bot.infra.mongo"]),
        ("from ..services import x", ["bot.services"]),
        ("from . import ids\nimport datetime\nfrom typing import Protocol", []),
    ],
)
def test_the_stdlib_checker_flags_what_it_should(source: str, expected: list[str]) -> None:
    assert _non_stdlib_imports(source, "bot.domain") == expected
