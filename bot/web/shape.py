"""The shape of an update, checked before anything acts on it.

python-telegram-bot does not check field types: ``{"from": {"id": ""}}`` becomes a ``User`` whose
``id`` is ``""``, and the gate would store a user keyed ``""``. So the webhook checks every field
the handlers (and the gate) read before it claims the update, and drops an update that Telegram
could not have sent: logged, answered 200 (a retry would fail the same way), nothing claimed,
nothing written.

Rules, Telegram's documented limits unless said otherwise:

* ids of users and chats: integers (never ``true``/``false``), at most 52 significant bits
  (users positive); ``update_id``, ``message_id`` and ``date``: non-negative integers;
* texts: strings without lone surrogates (they cannot be encoded to UTF-8, so no database or
  Bot API call could carry them), at most 4096 characters for a message, 1024 for a caption,
  256 for an inline query; names, usernames and other short strings at most 256 (Telegram's
  64 four times over, so that no real update is dropped for a difference in counting);
* callback data: a string of at most 64 bytes of UTF-8;
* objects where Telegram has objects, arrays where it has arrays, numbers finite (latitude and
  longitude within the globe);
* anything else (fields this bot does not read, kinds added to the Bot API later) may be any
  JSON, but no structure may nest deeper than :data:`MAX_DEPTH` and no string anywhere may hold
  a lone surrogate.

:func:`problem` says what is wrong as a path and a reason (``message.from.id: not an
integer``; ``*`` stands for a field name that is not Telegram's), never the value itself: a
malformed update may carry anything, and logs keep none of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Telegram: "at most 52 significant bits, so a signed 64-bit integer or double-precision float
# type are safe for storing this identifier".
ID_LIMIT = 1 << 52
MESSAGE_TEXT_MAX = 4096
CAPTION_MAX = 1024
INLINE_QUERY_MAX = 256
CALLBACK_DATA_MAX_BYTES = 64
SHORT_TEXT_MAX = 256
LONG_TEXT_MAX = 1 << 16  # vCards, poll explanations: bounded only by the body limit in practice
MAX_DEPTH = 32
ENTITIES_MAX = 10_000


class Malformed(Exception):
    """Raised inside a check; the message is the reason, the path is kept beside it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


Check = Callable[[Any, str, int], None]  # value, path, depth; raises Malformed


def _encodable(value: str, path: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Malformed(path, "not valid Unicode (lone surrogate)") from None


def any_json(value: Any, path: str, depth: int) -> None:
    """Any JSON value, bounded in depth, with encodable strings and finite numbers."""
    if depth > MAX_DEPTH:
        raise Malformed(path, f"nested deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        _encodable(value, path)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Malformed(path, "not a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            _encodable(key, path)
            any_json(item, f"{path}.*", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            any_json(item, f"{path}[{index}]", depth + 1)


def integer(low: int, high: int) -> Check:
    """An integer in ``[low, high)``; JSON ``true``/``false`` are not integers."""

    def check(value: Any, path: str, depth: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise Malformed(path, "not an integer")
        if not low <= value < high:
            raise Malformed(path, "integer out of range")

    return check


def number(low: float, high: float) -> Check:
    def check(value: Any, path: str, depth: int) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Malformed(path, "not a number")
        if not (math.isfinite(value) and low <= value <= high):
            raise Malformed(path, "number out of range")

    return check


def boolean(value: Any, path: str, depth: int) -> None:
    if not isinstance(value, bool):
        raise Malformed(path, "not a boolean")


def text(max_chars: int, *, max_bytes: int | None = None, non_empty: bool = False) -> Check:
    def check(value: Any, path: str, depth: int) -> None:
        if not isinstance(value, str):
            raise Malformed(path, "not a string")
        _encodable(value, path)
        if len(value) > max_chars:
            raise Malformed(path, f"longer than {max_chars} characters")
        if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
            raise Malformed(path, f"longer than {max_bytes} bytes")
        if non_empty and not value:
            raise Malformed(path, "empty")

    return check


def array(item: Check, max_items: int = ENTITIES_MAX) -> Check:
    def check(value: Any, path: str, depth: int) -> None:
        if not isinstance(value, list):
            raise Malformed(path, "not an array")
        if len(value) > max_items:
            raise Malformed(path, f"more than {max_items} items")
        if depth > MAX_DEPTH:
            raise Malformed(path, f"nested deeper than {MAX_DEPTH}")
        for index, element in enumerate(value):
            item(element, f"{path}[{index}]", depth + 1)

    return check


@dataclass
class Obj:
    """A Telegram object: required and optional fields with their checks; unknown fields are
    accepted (the Bot API grows) but bounded like any JSON."""

    required: Mapping[str, Check] = field(default_factory=dict)
    optional: Mapping[str, Check] = field(default_factory=dict)

    def __call__(self, value: Any, path: str, depth: int) -> None:
        if not isinstance(value, dict):
            raise Malformed(path, "not an object")
        if depth > MAX_DEPTH:
            raise Malformed(path, f"nested deeper than {MAX_DEPTH}")
        for name in self.required:
            if name not in value:
                raise Malformed(f"{path}.{name}", "missing")
        for key, item in value.items():
            check = self.required.get(key) or self.optional.get(key)
            if check is None:  # a field this bot does not read; its name is not ours to log
                _encodable(key, path)
                any_json(item, f"{path}.*", depth + 1)
            else:
                check(item, f"{path}.{key}", depth + 1)


def lazy(target: Callable[[], Check]) -> Check:
    """A check defined later (a message holds the message it replies to)."""

    def check(value: Any, path: str, depth: int) -> None:
        target()(value, path, depth)

    return check


ID = integer(-ID_LIMIT + 1, ID_LIMIT)
USER_ID = integer(1, ID_LIMIT)
COUNTER = integer(0, ID_LIMIT)  # update_id, message_id, date, offsets
SHORT = text(SHORT_TEXT_MAX)
LONG = text(LONG_TEXT_MAX)

USER = Obj(
    required={"id": USER_ID, "is_bot": boolean, "first_name": SHORT},
    optional={
        "last_name": SHORT,
        "username": SHORT,
        "language_code": SHORT,
        "is_premium": boolean,
        "added_to_attachment_menu": boolean,
    },
)
CHAT = Obj(
    required={"id": ID, "type": SHORT},
    optional={
        "title": SHORT,
        "username": SHORT,
        "first_name": SHORT,
        "last_name": SHORT,
        "is_forum": boolean,
    },
)
ENTITY = Obj(
    required={"type": SHORT, "offset": COUNTER, "length": COUNTER},
    optional={"url": LONG, "user": USER, "language": SHORT, "custom_emoji_id": SHORT},
)
CONTACT = Obj(
    required={"phone_number": SHORT, "first_name": SHORT},
    optional={"last_name": SHORT, "user_id": USER_ID, "vcard": LONG},
)
LOCATION = Obj(
    required={"latitude": number(-90.0, 90.0), "longitude": number(-180.0, 180.0)},
    optional={
        "horizontal_accuracy": number(0.0, 1500.0),
        "live_period": COUNTER,
        "heading": COUNTER,
        "proximity_alert_radius": COUNTER,
    },
)
VENUE = Obj(
    required={"location": LOCATION, "title": SHORT, "address": LONG},
    optional={"foursquare_id": SHORT, "foursquare_type": SHORT},
)


def _message() -> Check:
    return MESSAGE


MESSAGE = Obj(
    required={"message_id": COUNTER, "date": COUNTER, "chat": CHAT},
    optional={
        "from": USER,
        "sender_chat": CHAT,
        "edit_date": COUNTER,
        "text": text(MESSAGE_TEXT_MAX),
        "caption": text(CAPTION_MAX),
        "entities": array(ENTITY),
        "caption_entities": array(ENTITY),
        "contact": CONTACT,
        "location": LOCATION,
        "venue": VENUE,
        "reply_to_message": lazy(_message),
        "pinned_message": lazy(_message),
        "media_group_id": SHORT,
        "via_bot": USER,
        "new_chat_members": array(USER),
        "left_chat_member": USER,
    },
)
CALLBACK_QUERY = Obj(
    required={"id": SHORT, "from": USER, "chat_instance": SHORT},
    optional={
        # An inaccessible message (date 0) has the same required fields.
        "message": MESSAGE,
        "inline_message_id": SHORT,
        "data": text(CALLBACK_DATA_MAX_BYTES, max_bytes=CALLBACK_DATA_MAX_BYTES),
        "game_short_name": SHORT,
    },
)
CHAT_MEMBER = Obj(required={"status": SHORT, "user": USER})
CHAT_MEMBER_UPDATED = Obj(
    required={
        "chat": CHAT,
        "from": USER,
        "date": COUNTER,
        "old_chat_member": CHAT_MEMBER,
        "new_chat_member": CHAT_MEMBER,
    },
)
CHAT_JOIN_REQUEST = Obj(
    required={"chat": CHAT, "from": USER, "user_chat_id": ID, "date": COUNTER},
    optional={"bio": SHORT},
)
INLINE_QUERY = Obj(
    required={"id": SHORT, "from": USER, "query": text(INLINE_QUERY_MAX), "offset": SHORT},
    optional={"chat_type": SHORT, "location": LOCATION},
)
CHOSEN_INLINE_RESULT = Obj(
    required={"result_id": SHORT, "from": USER, "query": text(INLINE_QUERY_MAX)},
    optional={"location": LOCATION, "inline_message_id": SHORT},
)
WITH_SENDER = Obj(required={"id": SHORT, "from": USER})  # shipping and pre-checkout queries
POLL_ANSWER = Obj(
    required={"poll_id": SHORT, "option_ids": array(COUNTER)},
    optional={"user": USER, "voter_chat": CHAT},
)
MESSAGE_REACTION = Obj(
    required={"chat": CHAT, "message_id": COUNTER, "date": COUNTER},
    optional={"user": USER, "actor_chat": CHAT},
)

# Update kinds whose sender or chat reaches the gate; any other kind is checked as any JSON
# (the gate stops updates without a sender and a chat before any service call).
KINDS: dict[str, Check] = {
    "message": MESSAGE,
    "edited_message": MESSAGE,
    "channel_post": MESSAGE,
    "edited_channel_post": MESSAGE,
    "business_message": MESSAGE,
    "edited_business_message": MESSAGE,
    "callback_query": CALLBACK_QUERY,
    "my_chat_member": CHAT_MEMBER_UPDATED,
    "chat_member": CHAT_MEMBER_UPDATED,
    "chat_join_request": CHAT_JOIN_REQUEST,
    "inline_query": INLINE_QUERY,
    "chosen_inline_result": CHOSEN_INLINE_RESULT,
    "shipping_query": WITH_SENDER,
    "pre_checkout_query": WITH_SENDER,
    "poll_answer": POLL_ANSWER,
    "message_reaction": MESSAGE_REACTION,
}

UPDATE_ID = COUNTER


def problem(payload: dict[str, Any], kind: str | None) -> str | None:
    """What makes ``payload`` an update Telegram could not have sent, or None when its shape is
    right. ``kind`` is the update kind the webhook found (None: none or several)."""
    try:
        UPDATE_ID(payload.get("update_id"), "update_id", 1)
        for key, value in payload.items():
            _encodable(key, "update")
            if key == kind:
                KINDS.get(key, any_json)(value, key, 1)
            elif key != "update_id":
                any_json(value, key if key in KINDS else "*", 1)
    except Malformed as error:
        return str(error)
    return None
