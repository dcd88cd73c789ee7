"""`--state-dir`: keep people, chats, files and webhook settings across emulator restarts.

Saved as one JSON snapshot plus one file per stored document, written on shutdown and read at
start. Rate buckets, in-flight deliveries and callback queries are runtime-only by design.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from telegram_emulator.bot_state import ChatLog, WebhookSettings
from telegram_emulator.model import ChatMessage, GroupChat, PendingUpdate, StoredFile, User
from telegram_emulator.world import World

SNAPSHOT_NAME = "emulator-state.json"
FILES_DIR = "files"


def _message_to_json(message: ChatMessage) -> dict[str, Any]:
    data = asdict(message)
    data["document"] = message.document.file_id if message.document else None
    data["photo"] = message.photo.file_id if message.photo else None
    data["photo_size"] = list(message.photo_size)
    return data


def _message_from_json(world: World, data: dict[str, Any]) -> ChatMessage:
    data = dict(data)
    data["document"] = world.files.get(data["document"]) if data.get("document") else None
    data["photo"] = world.files.get(data["photo"]) if data.get("photo") else None
    data["photo_size"] = tuple(data.get("photo_size") or (0, 0))
    return ChatMessage(**data)


def save_state(world: World, state_dir: str) -> None:
    root = Path(state_dir)
    (root / FILES_DIR).mkdir(parents=True, exist_ok=True)
    files = []
    for index, stored in enumerate(world.files.values()):
        blob_name = f"blob_{index}"
        (root / FILES_DIR / blob_name).write_bytes(stored.content)
        meta = asdict(stored)
        del meta["content"]
        meta["blob"] = blob_name
        files.append(meta)
    bots = {}
    for bot_id, bot in world.bots.items():
        bots[str(bot_id)] = {
            "next_update_id": bot.next_update_id,
            "webhook": asdict(bot.webhook) if bot.webhook else None,
            "commands": bot.commands,
            "started": sorted(bot.started),
            "blocked": sorted(bot.blocked),
            "pending": [
                {
                    "update_id": u.update_id,
                    "payload": u.payload,
                    "kind": u.kind,
                    "chat_id": u.chat_id,
                }
                for u in bot.pending.values()
            ],
            "chats": {
                str(chat_id): {
                    "next_message_id": log.next_message_id,
                    "reply_keyboard": log.reply_keyboard,
                    "messages": [_message_to_json(m) for m in log.messages.values()],
                }
                for chat_id, log in bot.chats.items()
            },
        }
    snapshot = {
        "users": [asdict(user) for user in world.users.values()],
        "groups": [asdict(group) for group in world.groups.values()],
        "files": files,
        "bots": bots,
    }
    temporary = root / (SNAPSHOT_NAME + ".tmp")
    temporary.write_text(json.dumps(snapshot, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, root / SNAPSHOT_NAME)


def load_state(world: World, state_dir: str) -> None:
    path = Path(state_dir) / SNAPSHOT_NAME
    if not path.exists():
        return
    snapshot = json.loads(path.read_text(encoding="utf-8"))
    for data in snapshot["users"]:
        world.users[data["id"]] = User(**data)
    for data in snapshot["groups"]:
        world.groups[data["id"]] = GroupChat(**data)
    for meta in snapshot["files"]:
        blob = meta.pop("blob")
        stored = StoredFile(**meta, content=(Path(state_dir) / FILES_DIR / blob).read_bytes())
        world.files[stored.file_id] = stored
        world.files_by_path[stored.file_path] = stored
    for bot_key, data in snapshot["bots"].items():
        bot = world.bots.get(int(bot_key))
        if bot is None:
            continue  # a token no longer configured
        bot.next_update_id = data["next_update_id"]
        bot.webhook = WebhookSettings(**data["webhook"]) if data["webhook"] else None
        bot.commands = data["commands"]
        bot.started = set(data["started"])
        bot.blocked = set(data["blocked"])
        for item in data["pending"]:
            bot.add_pending(
                PendingUpdate(item["update_id"], item["payload"], item["kind"], item["chat_id"])
            )
        for chat_key, chat in data["chats"].items():
            log = ChatLog(
                next_message_id=chat["next_message_id"], reply_keyboard=chat["reply_keyboard"]
            )
            for message_data in chat["messages"]:
                message = _message_from_json(world, message_data)
                log.messages[message.message_id] = message
            bot.chats[int(chat_key)] = log
    world.sync_counters()
