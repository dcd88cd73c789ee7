"""The emulator stands outside the product: it must never import `bot` or `workers`."""

from __future__ import annotations

import ast
from pathlib import Path

import telegram_emulator

FORBIDDEN = ("bot", "workers")


def imported_roots(source: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_emulator_does_not_import_the_product() -> None:
    package_dir = Path(telegram_emulator.__file__).parent
    offenders = {
        str(path.relative_to(package_dir)): sorted(imported_roots(path) & set(FORBIDDEN))
        for path in package_dir.rglob("*.py")
    }
    assert {path: roots for path, roots in offenders.items() if roots} == {}
    assert len(offenders) > 10  # the walk really saw the package
