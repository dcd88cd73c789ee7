"""Where the programs we launch live: the project's virtualenv first, then PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class MissingExecutableError(RuntimeError):
    """A program the local cluster needs is not installed; `make install` provides it."""


def find_executable(name: str) -> str:
    """Absolute path of `name`, preferring the interpreter's own bin directory (the venv)."""
    beside_interpreter = Path(sys.executable).parent / name
    if beside_interpreter.is_file():
        return str(beside_interpreter)
    on_path = shutil.which(name)
    if on_path is None:
        raise MissingExecutableError(
            f"{name} not found in {beside_interpreter.parent} or PATH; run `make install`"
        )
    return on_path
