"""The Telegram Bot API emulator (our telegram_emulator package) as a server process."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

from devcluster.ports import LOOPBACK, free_port
from devcluster.process import ManagedProcess, SingleProcessService

# Read by `python -m telegram_emulator`; passing tokens this way keeps them out of `ps`.
TOKENS_ENVIRONMENT_VARIABLE = "TELEGRAM_EMULATOR_TOKENS"


class EmulatorServer(SingleProcessService):
    """`python -m telegram_emulator` on a free port, serving one bot token."""

    def __init__(
        self,
        run_dir: Path,
        *,
        bot_token: str,
        port: int | None = None,
        webhook_ca_file: Path | None = None,
        state_dir: Path | None = None,
        preset_users: list[str] | None = None,
        extra_args: list[str] | None = None,
        name: str = "telegram-emulator",
        die_with_parent: bool = True,
    ) -> None:
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self.bot_token = bot_token
        argv = [sys.executable, "-m", "telegram_emulator", "--host", self.host]
        argv += ["--port", str(self.port)]
        if webhook_ca_file is not None:
            argv += ["--webhook-ca", str(webhook_ca_file)]
        if state_dir is not None:
            argv += ["--state-dir", str(state_dir)]
        for user in preset_users or []:
            argv += ["--preset-user", user]
        argv += extra_args or []
        self.process = ManagedProcess(
            name,
            argv,
            log_dir=run_dir,
            env={TOKENS_ENVIRONMENT_VARIABLE: bot_token},
            die_with_parent=die_with_parent,
        )

    @property
    def base_url(self) -> str:
        """What the bot uses instead of https://api.telegram.org."""
        return f"http://{self.host}:{self.port}"

    @property
    def chat_page_url(self) -> str:
        return f"{self.base_url}/"

    def answers_get_me(self) -> bool:
        url = f"{self.base_url}/bot{self.bot_token}/getMe"
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http on loopback)
            return bool(json.load(response).get("ok"))

    def wait_ready(self) -> None:
        self.process.wait_ready(port=self.port, check=self.answers_get_me, timeout=30)
