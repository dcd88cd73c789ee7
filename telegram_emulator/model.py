"""The emulated world's records: people, chats, messages, files and update deliveries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str = "ru"
    phone_number: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def to_client(self) -> dict[str, Any]:
        data = self.to_api()
        data["phone_number"] = self.phone_number
        return data


@dataclass
class GroupChat:
    id: int
    title: str
    member_ids: list[int]

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "type": "group", "title": self.title}


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str
    mime_type: str
    content: bytes
    source_url: str | None = None

    def meta(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }


@dataclass
class ChatMessage:
    """One message in a chat, as both Telegram (to_api) and a person (to_client) see it."""

    message_id: int
    chat: dict[str, Any]
    sender: dict[str, Any]
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    html: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    caption_html: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    photo_size: tuple[int, int] = (0, 0)
    location: dict[str, float] | None = None
    venue: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    edit_date: int | None = None
    created_at: float = 0.0

    def content_key(self) -> str:
        """Identity of what the user sees, for 'not modified' and duplicate detection."""
        return json.dumps(
            [
                self.text,
                self.entities,
                self.caption,
                self.caption_entities,
                self.reply_markup
                if self.reply_markup and "inline_keyboard" in self.reply_markup
                else None,
                self.document.file_unique_id if self.document else None,
                self.photo.file_unique_id if self.photo else None,
                self.location,
                self.venue,
                self.contact,
            ],
            sort_keys=True,
            ensure_ascii=False,
        )

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.document:
            data["document"] = {
                **self.document.meta(),
                "file_name": self.document.file_name,
                "mime_type": self.document.mime_type,
            }
        if self.photo:
            width, height = self.photo_size
            data["photo"] = [{**self.photo.meta(), "width": width, "height": height}]
        if self.location:
            data["location"] = self.location
        if self.venue:
            data["venue"] = self.venue
            data["location"] = self.venue["location"]
        if self.contact:
            data["contact"] = self.contact
        # Reply keyboards are not part of the message object Telegram returns; inline ones are.
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data

    def to_client(self) -> dict[str, Any]:
        def file_view(stored: StoredFile) -> dict[str, Any]:
            return {
                "file_id": stored.file_id,
                "file_name": stored.file_name,
                "mime_type": stored.mime_type,
                "file_size": len(stored.content),
                "download_path": f"files/{stored.file_id}",
            }

        return {
            "message_id": self.message_id,
            "chat_id": self.chat["id"],
            "from_bot": self.from_bot,
            "from_user_id": self.sender["id"],
            "date": self.date,
            "text": self.text if self.text is not None else self.caption,
            "html": self.html if self.text is not None else self.caption_html,
            "parse_mode": self.parse_mode,
            "entities": self.entities if self.text is not None else self.caption_entities,
            "reply_markup": self.reply_markup,
            "document": file_view(self.document) if self.document else None,
            "photo": file_view(self.photo) if self.photo else None,
            "location": self.location,
            "venue": self.venue,
            "contact": self.contact,
            "edited": self.edit_date is not None,
        }


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answered: bool = False
    answer: dict[str, Any] | None = None


@dataclass
class PendingUpdate:
    update_id: int
    payload: dict[str, Any]
    kind: str
    chat_id: int | None
    attempts: int = 0
    next_attempt_at: float = 0.0
    in_flight: bool = False

    @property
    def order_key(self) -> str:
        """Updates sharing this key are delivered one at a time, in update_id order."""
        return f"chat:{self.chat_id}" if self.chat_id is not None else f"update:{self.update_id}"


@dataclass
class DeliveryAttempt:
    update_id: int
    attempt: int
    started_at: float
    finished_at: float | None = None
    outcome: str = "in_flight"  # "ok", "http_error", "timeout", "connection_error", "dropped"
    status_code: int | None = None
    error: str | None = None

    def to_client(self) -> dict[str, Any]:
        return {
            "update_id": self.update_id,
            "attempt": self.attempt,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "outcome": self.outcome,
            "status_code": self.status_code,
            "error": self.error,
        }


@dataclass
class Counters:
    sent: int = 0
    edits: int = 0
    deletes: int = 0
    callback_answers: int = 0
    rejected_400: int = 0
    rejected_403: int = 0
    rejected_429: int = 0
    updates_created: int = 0
    webhook_deliveries: int = 0
    webhook_delivered: int = 0
    webhook_retries: int = 0
    webhook_failures: int = 0
    webhook_dropped: int = 0
    webhook_reply_methods: int = 0
    polled_updates: int = 0
    duplicate_sends_seen: int = 0
    # Answers given by an injected fault (faults.py), and held requests whose client went away.
    faults_injected: int = 0
    faults_abandoned: int = 0
    # The most sends accepted within any one second (a sliding window on the emulator's clock).
    max_sends_per_second: int = 0
    # Sends accepted with allow_paid_broadcast (each would cost the bot 0.1 Telegram Star).
    paid_broadcasts: int = 0
    # The other accepted sends by purpose (sent = reply_sends + bulk_sends + paid_broadcasts): a
    # reply goes to a chat the bot received an update from (config.reply_window_s), a bulk send
    # is any other, counted against the global rate.
    reply_sends: int = 0
    bulk_sends: int = 0
    # The most of each accepted within any one second, like max_sends_per_second.
    max_reply_sends_per_second: int = 0
    max_bulk_sends_per_second: int = 0
    # 429s by the limit that refused; a refusal counts under every limit it ran out of, so these
    # can add up to more than rejected_429.
    rejected_429_chat: int = 0
    rejected_429_group: int = 0
    rejected_429_global: int = 0
    rejected_429_paid: int = 0
    rejected_429_all_sends: int = 0
