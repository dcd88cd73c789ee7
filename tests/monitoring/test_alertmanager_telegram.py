"""The production Alertmanager config, rendered by render-config.sh and loaded by a real
Alertmanager, delivers to the admins' Telegram chat: the message arrives in that chat of the
Telegram Bot API emulator (a real HTTP server that validates HTML like Telegram), grouped, with
what inhibition silences left out.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devcluster.emulator import EmulatorServer
from devcluster.ports import LOOPBACK, free_port
from devcluster.process import ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
AM_DIR = REPO_ROOT / "monitoring" / "alertmanager"


@dataclass(frozen=True)
class AdminChat:
    emulator: EmulatorServer
    bot_id: int
    chat_id: int

    def bot_messages(self) -> list[dict[str, Any]]:
        url = f"{self.emulator.base_url}/_emulator/bots/{self.bot_id}/chats/{self.chat_id}"
        chat = httpx.get(url, timeout=5).json()["result"]
        return [message for message in chat["messages"] if message["from_bot"]]


@pytest.fixture
def admin_chat(tmp_path: Path) -> Iterator[AdminChat]:
    token = f"{secrets.randbelow(9 * 10**8) + 10**8}:{secrets.token_urlsafe(30)}"
    with EmulatorServer(tmp_path / "emulator", bot_token=token) as emulator:
        api = emulator.base_url
        admin = httpx.post(
            f"{api}/_emulator/users", json={"first_name": "Админ"}, timeout=5
        ).json()["result"]
        group = httpx.post(
            f"{api}/_emulator/groups",
            json={"title": "FOK admins", "member_ids": [admin["id"]]},
            timeout=5,
        ).json()["result"]
        yield AdminChat(emulator, int(token.split(":")[0]), group["id"])


def _render_production_config(tmp_path: Path, chat: AdminChat) -> Path:
    token_file = tmp_path / "alert-bot-token"
    token_file.write_text(chat.emulator.bot_token + "\n")
    config = tmp_path / "alertmanager.yml"
    subprocess.run(
        [str(AM_DIR / "render-config.sh"), str(AM_DIR / "alertmanager.yml.tmpl"), str(config)],
        env={
            "PATH": os.environ["PATH"],
            "TELEGRAM_BOT_TOKEN_FILE": str(token_file),
            "TELEGRAM_CHAT_ID": str(chat.chat_id),
            "TELEGRAM_API_URL": chat.emulator.base_url,
            "TEMPLATES_DIR": str(AM_DIR / "templates"),
        },
        capture_output=True,
        check=True,
        timeout=30,
    )
    return config


@pytest.fixture
def alertmanager_url(admin_chat: AdminChat, tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        pytest.fail("Alertmanager is not installed (apt-get install prometheus-alertmanager)")
    config = _render_production_config(tmp_path, admin_chat)
    port = free_port()
    process = ManagedProcess(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",
        ],
        log_dir=tmp_path,
        stop_grace_seconds=5,
    )
    url = f"http://{LOOPBACK}:{port}"
    with process:
        process.wait_ready(
            port=port, check=lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
        )
        yield url


def _alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, "severity": severity, **labels},
        "annotations": {
            "summary": f"{name} on {labels.get('instance', 'the cluster')} <&>",
            "description": f"{name} description",
            "runbook_url": f"docs/operations.md#{name.lower()}",
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=10)).isoformat(),
    }


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_critical_alerts_reach_the_admin_chat_grouped_and_inhibited(
    alertmanager_url: str, admin_chat: AdminChat
) -> None:
    alerts = [
        # one group (alertname + severity): a single message naming both instances
        _alert("FokDependencyDown", "critical", instance="bot1:8000", dependency="redis_cluster"),
        _alert("FokDependencyDown", "critical", instance="bot2:8000", dependency="redis_cluster"),
        # explained by the replica set having no primary: silenced
        _alert("FokDependencyDown", "critical", instance="bot3:8000", dependency="mongodb"),
        _alert("FokMongoDBNoPrimary", "critical", rs_nm="rs0"),
    ]
    response = httpx.post(f"{alertmanager_url}/api/v2/alerts", json=alerts, timeout=5)
    assert response.status_code == 200, response.text

    # the critical route waits 10 s before its first message of a group
    _wait_for(lambda: len(admin_chat.bot_messages()) >= 2, 40, "two messages in the admin chat")
    texts = sorted(message["text"] for message in admin_chat.bot_messages())

    assert len(texts) == 2, texts
    dependency, no_primary = (
        next(t for t in texts if "FokDependencyDown" in t),
        next(t for t in texts if "FokMongoDBNoPrimary" in t),
    )
    assert dependency.startswith("🔥 FIRING FokDependencyDown (critical)")
    # the message is HTML: the emulator parsed it, so markup is gone and entities are decoded
    assert "FokDependencyDown on bot1:8000 <&> [bot1:8000]" in dependency
    assert "FokDependencyDown on bot2:8000 <&> [bot2:8000]" in dependency
    assert "bot3:8000" not in dependency
    assert "runbook: docs/operations.md#fokdependencydown" in dependency
    assert no_primary.startswith("🔥 FIRING FokMongoDBNoPrimary (critical)")
    assert all(message["parse_mode"] == "HTML" for message in admin_chat.bot_messages())

    states = {
        alert["labels"].get("instance", alert["labels"]["alertname"]): alert["status"]
        for alert in httpx.get(f"{alertmanager_url}/api/v2/alerts", timeout=5).json()
    }
    assert states["bot3:8000"]["inhibitedBy"], states
    assert not states["bot1:8000"]["inhibitedBy"]
