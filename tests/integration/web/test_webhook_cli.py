"""``scripts/admin_tools.py webhook set|info|delete`` against the emulator's Bot API."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path

from telegram_emulator.client import EmulatorClient
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer
from tests.integration.web.conftest import new_token

ADMIN_TOOLS = Path(__file__).resolve().parents[3] / "scripts" / "admin_tools.py"


async def admin_tools(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ADMIN_TOOLS),
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_webhook_set_info_delete_round_trip_without_leaking_secrets() -> None:
    token = new_token()
    secret = secrets.token_urlsafe(24)
    config = EmulatorConfig(tokens=(token,), allow_http_webhooks=True)
    async with EmulatorServer(config) as emulator:
        env = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_WEBHOOK_SECRET": secret,
            "TELEGRAM_API_BASE_URL": emulator.base_url,
            "TELEGRAM_WEBHOOK_MAX_CONNECTIONS": "12",
        }
        hook = "http://127.0.0.1:9/telegram/webhook"
        code, out, err = await admin_tools(env, "webhook", "set", hook)
        assert (code, err) == (0, "")
        assert "webhook set" in out

        code, out, _ = await admin_tools(env, "webhook", "info")
        assert code == 0
        info = json.loads(out)
        assert info["url"] == hook
        assert info["max_connections"] == 12

        code, out, _ = await admin_tools(env, "webhook", "delete")
        assert code == 0
        code, out, _ = await admin_tools(env, "webhook", "info")
        assert json.loads(out)["url"] == ""

        # A refusal is reported without the token or the secret anywhere in the output.
        code, out, err = await admin_tools(env, "webhook", "set", "ftp://nowhere")
        assert code == 1
        assert token not in out + err
        assert secret not in out + err
        # The emulator holds the secret it was given: the bot's webhook would check it.
        bot = next(iter(emulator.emulator.world.bots.values()))
        assert bot.webhook is None


async def test_webhook_commands_need_only_the_telegram_settings() -> None:
    code, _, err = await admin_tools({"TELEGRAM_BOT_TOKEN": "", "MONGO_URL": ""}, "webhook", "info")
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN" in err
    assert "MONGO_URL" not in err


async def test_commands_publish_sets_both_languages() -> None:
    token = new_token()
    config = EmulatorConfig(tokens=(token,))
    async with EmulatorServer(config) as emulator:
        env = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
            "TELEGRAM_API_BASE_URL": emulator.base_url,
        }
        code, out, err = await admin_tools(env, "commands", "publish")
        assert (code, err) == (0, ""), err
        assert "commands published" in out
        async with EmulatorClient(emulator.base_url, token) as client:
            published = await client.commands()
    by_language = {k: [c["command"] for c in v] for k, v in published.items()}
    assert by_language["default::"] == ["start", "menu", "help"]
    assert by_language["default::en"] == ["start", "menu", "help"]
    assert published["default::"][0]["description"] != published["default::en"][0]["description"]
