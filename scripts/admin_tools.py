#!/usr/bin/env python3
"""Operator tools for the FOK bot. See `admin_tools.py --help`."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

# Run inside the project's virtualenv when invoked with another interpreter.
if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])  # noqa: S606

sys.path.insert(0, str(ROOT))

from bot.cli.admin import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
