"""The whole local cluster (`python -m devcluster up` in a temporary run directory) for a test module.

One start per module (about half a minute, longer on a loaded machine), stopped at its end with
`down`, which also stops whatever `devcluster scale` added. Used by tests/ops and tests/browser:

    @pytest.fixture(scope="module")
    def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
        yield from running_local_cluster(tmp_path_factory, "ops")
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOOLS = REPO_ROOT / "scripts" / "admin_tools.py"


def devcluster(run_dir: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devcluster", "--run-dir", str(run_dir), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class Cluster:
    run_dir: Path
    status: dict[str, Any]

    @property
    def ports(self) -> dict[str, int]:
        return dict(self.status["ports"])

    def url(self, port_name: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_name]}"

    @property
    def chat_page_url(self) -> str:
        return f"{self.url('telegram-emulator')}/"

    @property
    def mongo_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.ports['mongo']}/?directConnection=true"

    def pid(self, process_name: str) -> int:
        for component in self.status["components"]:
            for process in component["processes"]:
                if process["name"] == process_name:
                    return int(process["pid"])
        raise KeyError(process_name)

    def credentials(self) -> dict[str, str]:
        credentials: dict[str, str] = json.loads((self.run_dir / "credentials.json").read_text())
        return credentials

    def bot_env(self) -> dict[str, str]:
        lines = (self.run_dir / "bot.env").read_text().splitlines()
        return dict(
            line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")
        )

    def admin_tools(self, *args: str) -> str:
        """`scripts/admin_tools.py ARGS` with the environment a bot process has (README)."""
        done = subprocess.run(
            [sys.executable, str(ADMIN_TOOLS), *args],
            cwd=REPO_ROOT,
            env={**os.environ, **self.bot_env()},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def refreshed(self) -> Cluster:
        """The same cluster with its status read again (after `scale` or `restart`)."""
        status = devcluster(self.run_dir, "status", "--json")
        return Cluster(self.run_dir, json.loads(status.stdout))


def running_local_cluster(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Cluster]:
    run_dir = tmp_path_factory.mktemp(name) / "run"
    try:
        started = devcluster(run_dir, "up")
        assert started.returncode == 0, started.stdout + started.stderr
        status = devcluster(run_dir, "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        yield Cluster(run_dir, json.loads(status.stdout))
    finally:
        devcluster(run_dir, "down")
