"""Which secrets a directory of log files gives away (used by the e2e stacks' teardown)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def leaked_secrets(directory: Path, secrets: Mapping[str, str]) -> list[str]:
    """``file: NAME`` for every file under ``directory`` holding a secret's value."""
    leaks: list[str] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.suffix in {".pem", ".key", ".sock"} or path.name.endswith(".conf"):
            continue  # key material and configs hold secrets by design; logs must not
        data = path.read_bytes()
        leaks.extend(
            f"{path.relative_to(directory)}: {name}"
            for name, value in secrets.items()
            if value and value.encode() in data
        )
    return leaks
