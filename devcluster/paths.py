"""Locations inside the checkout that the launchers read from or write to."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUN_DIR = REPO_ROOT / "var" / "devcluster"
