"""Keyboards shared by several features; every inline button's data comes from the codec."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.domain.paging import Page
from bot.telegram.callbacks import encode
from bot.telegram.texts import t

Row = list[InlineKeyboardButton]


def button(text: str, feature: str, action: str, *args: str | int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(feature, action, *args))


def inline(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


def in_pairs(buttons: Sequence[InlineKeyboardButton]) -> list[Row]:
    return [list(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


def menu_row(language: str) -> Row:
    return [button(t(language, "nav.menu"), "mn", "h")]


def pager_row(language: str, page: Page[Any], feature: str, action: str, *prefix: str | int) -> Row:
    """⬅️ / «page n of m» / ➡️; the middle button re-draws the same page (never a dead button)."""
    if page.pages <= 1:
        return []
    row: Row = []
    if page.has_previous:
        row.append(button(t(language, "nav.previous"), feature, action, *prefix, page.page - 1))
    row.append(
        button(
            t(language, "nav.page", page=page.page + 1, pages=page.pages),
            feature,
            action,
            *prefix,
            page.page,
        )
    )
    if page.has_next:
        row.append(button(t(language, "nav.next"), feature, action, *prefix, page.page + 1))
    return row


def main_menu(language: str) -> InlineKeyboardMarkup:
    return inline(
        [
            [button(t(language, "menu.catalog"), "ct", "d", 0)],
            [
                button(t(language, "menu.search"), "ct", "s"),
                button(t(language, "menu.nearest"), "ct", "nr"),
            ],
            [
                button(t(language, "menu.applications"), "ap", "l", 0),
                button(t(language, "menu.bookings"), "ss", "my", 0),
            ],
            [
                button(t(language, "menu.profile"), "pf", "v"),
                button(t(language, "menu.help"), "hp", "h"),
            ],
        ]
    )


def back_to_menu(language: str) -> InlineKeyboardMarkup:
    return inline([menu_row(language)])


def phone_request(language: str, *, skippable: bool) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(t(language, "button.share_phone"), request_contact=True)]]
    rows.append(
        [KeyboardButton(t(language, "button.skip" if skippable else "button.cancel_input"))]
    )
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def location_request(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(t(language, "button.share_location"), request_location=True)],
            [KeyboardButton(t(language, "button.cancel_input"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def remove_reply_keyboard() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()
