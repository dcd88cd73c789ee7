"""Reply markup validation: inline keyboards, reply keyboards, removal and force-reply."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from telegram_emulator.errors import bad_request

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_PREFIX = "can't parse inline keyboard button: "


def _validate_inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request(_BUTTON_PREFIX + "InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(_BUTTON_PREFIX + 'Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if not actions:
        raise bad_request(_BUTTON_PREFIX + "Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise bad_request(_BUTTON_PREFIX + 'Field "callback_data" must be of type String')
        if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https", "tg")
            or (parts.scheme != "tg" and not parts.netloc)
        ):
            raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def _validate_inline_keyboard(rows: Any) -> dict[str, Any]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    checked = [[_validate_inline_button(button) for button in row] for row in rows]
    if sum(len(row) for row in checked) > MAX_INLINE_BUTTONS:
        raise bad_request("too many inline keyboard buttons")
    return {"inline_keyboard": [row for row in checked if row]}


def _validate_reply_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            "can't parse keyboard button: KeyboardButton must be a String or an Object"
        )
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    return dict(button)


def _validate_reply_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    rows = markup.get("keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
        )
    checked = dict(markup)
    checked["keyboard"] = [[_validate_reply_button(button) for button in row] for row in rows]
    return checked


def validate_reply_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Check a reply_markup object; return it normalised, None when absent."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _validate_inline_keyboard(markup["inline_keyboard"])
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        return _validate_reply_keyboard(markup)
    if markup.get("remove_keyboard") is True:
        return {"remove_keyboard": True}
    if markup.get("force_reply") is True:
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_callback_data(markup: dict[str, Any] | None) -> list[str]:
    """Every callback_data carried by an inline keyboard (what a person could press)."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        button["callback_data"]
        for row in markup["inline_keyboard"]
        for button in row
        if "callback_data" in button
    ]
