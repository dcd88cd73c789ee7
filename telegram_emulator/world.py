"""The emulated Telegram: users, group chats, files and bots, shared by the API and the client."""

from __future__ import annotations

import mimetypes
import secrets
from typing import Any

from telegram_emulator.bot_state import BotState
from telegram_emulator.clock import Clock, SystemClock
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.errors import ApiError, bad_request, forbidden
from telegram_emulator.model import ChatMessage, GroupChat, PendingUpdate, StoredFile, User

FIRST_USER_ID = 700_000_001
FIRST_GROUP_ID = -100_000_000_001


class World:
    def __init__(self, config: EmulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.users: dict[int, User] = {}
        self.groups: dict[int, GroupChat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.bots: dict[int, BotState] = {}
        self.bots_by_token: dict[str, BotState] = {}
        self._next_user_id = FIRST_USER_ID
        self._next_group_id = FIRST_GROUP_ID
        self._next_file_number = 1
        self.closing = False
        for token in config.tokens:
            bot = BotState(token, self.clock)
            self.bots[bot.bot_id] = bot
            self.bots_by_token[token] = bot
        for preset in config.preset_users:
            self.create_user(
                preset.first_name,
                username=preset.username,
                language_code=preset.language_code,
                user_id=preset.user_id,
            )

    def begin_shutdown(self) -> None:
        """End every long poll now, so a stopping server does not wait out their timeouts."""
        self.closing = True
        for bot in self.bots.values():
            bot.chat_signal.notify()
            bot.queue_signal.notify()

    # --- people and chats -------------------------------------------------------------------

    def create_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ru",
        user_id: int | None = None,
        phone_number: str | None = None,
    ) -> User:
        if not first_name.strip():
            raise bad_request("first_name is empty")
        if user_id is None:
            while self._next_user_id in self.users:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        elif user_id <= 0:
            raise bad_request("user ids are positive")
        existing = self.users.get(user_id)
        if existing is not None:
            return existing
        user = User(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            phone_number=phone_number or f"+7900{user_id % 10_000_000:07d}",
        )
        self.users[user_id] = user
        return user

    def sync_counters(self) -> None:
        """After loading saved state, keep new ids clear of the loaded ones."""
        self._next_user_id = max([FIRST_USER_ID, *(uid + 1 for uid in self.users)])
        self._next_group_id = min([FIRST_GROUP_ID, *(gid - 1 for gid in self.groups)])
        self._next_file_number = len(self.files) + 1

    def user(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise ApiError(404, f"Not Found: no emulated user {user_id}")
        return user

    def create_group(self, title: str, member_ids: list[int]) -> GroupChat:
        for member_id in member_ids:
            self.user(member_id)
        group = GroupChat(self._next_group_id, title, list(member_ids))
        self._next_group_id -= 1
        self.groups[group.id] = group
        return group

    def chat_object(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self.groups:
            return self.groups[chat_id].to_api()
        user = self.users.get(chat_id)
        if user is None:
            raise bad_request("chat not found")
        data: dict[str, Any] = {"id": user.id, "type": "private", "first_name": user.first_name}
        if user.last_name:
            data["last_name"] = user.last_name
        if user.username:
            data["username"] = user.username
        return data

    def require_reachable_chat(self, bot: BotState, chat_id: int) -> dict[str, Any]:
        """The chat a bot may write to, or Telegram's 400/403 for why it may not."""
        chat = self.chat_object(chat_id)
        if chat["type"] == "private":
            if chat_id in bot.blocked:
                raise forbidden("bot was blocked by the user")
            if chat_id not in bot.started:
                raise forbidden("bot can't initiate conversation with a user")
        return chat

    def bot_by_id(self, bot_id: int) -> BotState:
        bot = self.bots.get(bot_id)
        if bot is None:
            raise ApiError(404, f"Not Found: no emulated bot {bot_id}")
        return bot

    # --- messages ---------------------------------------------------------------------------

    def add_message(self, bot: BotState, chat_id: int, message: ChatMessage) -> ChatMessage:
        """Append a message to the chat, giving it the chat's next message_id."""
        log = bot.chat_log(chat_id)
        message.message_id = log.next_message_id
        log.next_message_id += 1
        log.messages[message.message_id] = message
        bot.touch_chat(chat_id)
        return message

    def new_message(
        self, bot: BotState, chat_id: int, *, from_bot: bool, sender: dict[str, Any]
    ) -> ChatMessage:
        return ChatMessage(
            message_id=0,
            chat=self.chat_object(chat_id),
            sender=sender,
            from_bot=from_bot,
            date=int(self.clock.now()),
            created_at=self.clock.now(),
        )

    # --- files ------------------------------------------------------------------------------

    def store_file(
        self,
        kind: str,
        file_name: str,
        mime_type: str | None,
        content: bytes,
        url: str | None = None,
    ) -> StoredFile:
        number = self._next_file_number
        self._next_file_number += 1
        extension = "." + file_name.rsplit(".", 1)[1] if "." in file_name else ""
        guessed = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{number}_{secrets.token_urlsafe(12)}",
            file_unique_id=f"u{number}{secrets.token_hex(4)}",
            file_path=f"{kind}/file_{number}{extension}",
            file_name=file_name,
            mime_type=guessed,
            content=content,
            source_url=url,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    # --- updates ----------------------------------------------------------------------------

    def enqueue_update(
        self, bot: BotState, kind: str, body: dict[str, Any], chat_id: int | None
    ) -> int | None:
        """Queue an update for delivery; None if the bot's allowed_updates filters it out."""
        allowed = bot.webhook.allowed_updates if bot.webhook else bot.polling_allowed_updates
        if allowed and kind not in allowed:
            return None
        update_id = bot.next_update_id
        bot.next_update_id += 1
        payload = {"update_id": update_id, kind: body}
        bot.counters.updates_created += 1
        bot.add_pending(PendingUpdate(update_id, payload, kind, chat_id))
        return update_id
