"""The three bot instances of the local cluster, with the deploy steps that precede traffic.

Before the instances take updates the database is migrated and seeded (the operator CLI,
`scripts/admin_tools.py`), and after they are ready the webhook is registered with the
emulator: what a real deployment does once, never the bot at start (design §4 rule 3).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from devcluster.bot import BotInstance
from devcluster.paths import REPO_ROOT
from devcluster.process import ManagedProcess, ProcessStartError

ADMIN_TOOLS = REPO_ROOT / "scripts" / "admin_tools.py"
SEED_CATALOG = REPO_ROOT / "data" / "catalog" / "nizhny-novgorod.json"
SEED_SESSION_DAYS = 14


class BotFleet:
    def __init__(
        self,
        run_dir: Path,
        *,
        ports: list[int],
        env: Mapping[str, str],
        webhook_url: str,
        emulator_base_url: str,
        workers_per_instance: int = 1,
        die_with_parent: bool = True,
    ) -> None:
        self.run_dir = run_dir
        self._env = dict(env)
        self.webhook_url = webhook_url
        self._emulator_base_url = emulator_base_url
        self.instances = [
            BotInstance(
                run_dir,
                instance_id=f"bot{index}",
                env=env,
                workers=workers_per_instance,
                port=port,
                die_with_parent=die_with_parent,
            )
            for index, port in enumerate(ports, start=1)
        ]

    def _admin_tools(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(ADMIN_TOOLS), *args],
            env={**os.environ, **self._env},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        log = self.run_dir / "admin-tools.log"
        with log.open("a") as sink:
            sink.write(f"$ admin_tools.py {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if result.returncode != 0:
            raise ProcessStartError(
                f"admin_tools.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def provision_database(self) -> None:
        self._admin_tools("db", "migrate")
        self._admin_tools(
            "catalog", "import", str(SEED_CATALOG), "--generate-days", str(SEED_SESSION_DAYS)
        )

    def register_webhook(self) -> None:
        body = json.dumps(
            {
                "url": self.webhook_url,
                "secret_token": self._env["TELEGRAM_WEBHOOK_SECRET"],
                "drop_pending_updates": False,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 (the emulator on loopback)
            f"{self._emulator_base_url}/bot{self._env['TELEGRAM_BOT_TOKEN']}/setWebhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            answer = json.load(response)
        if not answer.get("ok"):
            raise ProcessStartError(f"setWebhook refused: {answer.get('description')}")

    def start(self) -> BotFleet:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.provision_database()
        try:
            # All three boot at once; readiness is then awaited one by one.
            for instance in self.instances:
                instance.start(wait=False)
            for instance in self.instances:
                instance.wait_ready()
            self.register_webhook()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()

    def processes(self) -> list[ManagedProcess]:
        return [process for instance in self.instances for process in instance.processes()]
