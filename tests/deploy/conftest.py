from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.envfile import complete_values, write_env_file


@pytest.fixture
def complete_env_file(tmp_path: Path) -> Path:
    """.env.prod.example with throwaway secrets: what a filled-in .env.prod looks like."""
    return write_env_file(tmp_path / "complete.env", complete_values())
