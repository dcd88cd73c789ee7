"""Traffic for the cluster tests: residents registering, and what the run should leave behind.

Each resident sends ``/start`` (1 reply), their name (1 reply), their own contact (1 reply:
"phone saved" with the consent question), then ``/help`` a few times (1 reply each). Updates of
one chat are queued at once; the emulator delivers them in order, one at a time per chat, like
Telegram, so the dialog advances correctly whichever instance gets each update.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram_emulator.client import EmulatorClient

REGISTRATION_REPLIES = 1 + 1 + 1


@dataclass
class Resident:
    user_id: int
    name: str
    phone: str
    update_ids: list[int] = field(default_factory=list)


@dataclass
class Crowd:
    residents: list[Resident]
    help_requests: int

    @property
    def replies_per_resident(self) -> int:
        return REGISTRATION_REPLIES + self.help_requests

    @property
    def expected_replies(self) -> int:
        return len(self.residents) * self.replies_per_resident

    @property
    def update_count(self) -> int:
        return sum(len(resident.update_ids) for resident in self.residents)


def telegram_like_ids(count: int, seed: int) -> list[int]:
    """Distinct ids spread like real Telegram user ids, not the emulator's consecutive ones.

    Consecutive ids would also be a poor test of the proxy: HAProxy's ``json_query`` reads a
    number as a double and the pinning key keeps its first 6 digits, so neighbours share a key.
    """
    generator = random.Random(seed)
    return generator.sample(range(100_000_000, 8_000_000_000), count)


async def create_crowd(
    client: EmulatorClient, size: int, *, help_requests: int = 1, seed: int = 1
) -> Crowd:
    residents = []
    for number, user_id in enumerate(telegram_like_ids(size, seed)):
        name = f"Житель{number:03d}"
        phone = f"+7912{number:07d}"
        user = await client.create_user(name, phone_number=phone, user_id=user_id)
        residents.append(Resident(user["id"], name, phone))
    return Crowd(residents, help_requests)


async def _send_registration(
    client: EmulatorClient, resident: Resident, help_requests: int
) -> None:
    ids = resident.update_ids
    ids.append((await client.send_text(resident.user_id, "/start"))["update_id"])
    ids.append((await client.send_text(resident.user_id, resident.name))["update_id"])
    ids.append((await client.send_contact(resident.user_id))["update_id"])
    for _ in range(help_requests):
        ids.append((await client.send_text(resident.user_id, "/help"))["update_id"])


async def send_all(client: EmulatorClient, crowd: Crowd) -> None:
    """Queue every resident's updates (the emulator starts delivering at once)."""
    await asyncio.gather(
        *(_send_registration(client, r, crowd.help_requests) for r in crowd.residents)
    )


async def send_in_waves(
    client: EmulatorClient,
    crowd: Crowd,
    *,
    wave_gap_s: float,
    until: asyncio.Event | None = None,
) -> None:
    """One step of every resident per wave, waves ``wave_gap_s`` apart: a steady stream. With
    ``until``, more /help waves follow the planned ones until it is set (counted in the crowd's
    ``help_requests``), so a fault that takes long on a loaded machine still meets traffic."""

    def ask_for_help(r: Resident) -> Any:
        return client.send_text(r.user_id, "/help")

    steps: list[Any] = [
        lambda r: client.send_text(r.user_id, "/start"),
        lambda r: client.send_text(r.user_id, r.name),
        lambda r: client.send_contact(r.user_id),
    ] + [ask_for_help] * crowd.help_requests
    index = 0
    while index < len(steps) or (until is not None and not until.is_set()):
        if index:
            await asyncio.sleep(wave_gap_s)
        if index < len(steps):
            step = steps[index]
        else:
            step = ask_for_help
            crowd.help_requests += 1
        results = await asyncio.gather(*(step(r) for r in crowd.residents))
        for resident, result in zip(crowd.residents, results, strict=True):
            resident.update_ids.append(result["update_id"])
        index += 1


async def bot_message_counts(client: EmulatorClient, crowd: Crowd) -> dict[int, int]:
    counts = await asyncio.gather(*(client.bot_messages(r.user_id) for r in crowd.residents))
    return {r.user_id: len(m) for r, m in zip(crowd.residents, counts, strict=True)}


async def wait_until_sent(client: EmulatorClient, at_least: int, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while (await client.counters())["sent"] < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot did not send {at_least} messages in {within_s}s")
        await asyncio.sleep(0.05)


async def registered_users(db: Any, crowd: Crowd) -> dict[int, dict[str, Any]]:
    ids = [r.user_id for r in crowd.residents]
    found: dict[int, dict[str, Any]] = {}
    async for document in db["users"].find({"_id": {"$in": ids}}):
        found[int(document["_id"])] = document
    return found


def processed_chats_by_instance(log_paths: dict[str, list[Path]]) -> dict[str, Counter[int]]:
    """From each instance's JSON log: how many updates of each chat it processed."""
    seen: dict[str, Counter[int]] = {}
    for instance, paths in log_paths.items():
        chats: Counter[int] = Counter()
        for path in paths:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if not line.startswith("{"):
                    continue  # gunicorn's own plain-text lines
                record = json.loads(line)
                if record.get("message") == "update processed" and record.get("chat_id"):
                    chats[int(record["chat_id"])] += 1
        seen[instance] = chats
    return seen


def processing_milliseconds(log_paths: dict[str, list[Path]]) -> list[float]:
    """Per-update processing time (dedup claim to done) from the instances' JSON logs."""
    times: list[float] = []
    for paths in log_paths.values():
        for path in paths:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("{"):
                    record = json.loads(line)
                    if record.get("message") == "update processed" and "ms" in record:
                        times.append(float(record["ms"]))
    return sorted(times)
