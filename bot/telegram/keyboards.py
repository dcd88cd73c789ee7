"""Keyboards shared by several features; every inline button is drawn from a declared action."""

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
from bot.telegram.actions import (
    ApplicationAction,
    CatalogAction,
    HelpAction,
    MenuAction,
    ProfileAction,
    SessionAction,
)
from bot.telegram.callbacks import Action
from bot.telegram.texts import t

Row = list[InlineKeyboardButton]


def button(text: str, action: Action, *args: str | int) -> InlineKeyboardButton:
    """A button for a declared action (see ``bot.telegram.actions``) with its arguments."""
    return InlineKeyboardButton(text, callback_data=action.data(*args))


def inline(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


def in_pairs(buttons: Sequence[InlineKeyboardButton]) -> list[Row]:
    return [list(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


def menu_row(language: str) -> Row:
    return [button(t(language, "nav.menu"), MenuAction.OPEN)]


def pager_row(language: str, page: Page[Any], action: Action, *prefix: str | int) -> Row:
    """⬅️ / «page n of m» / ➡️; the middle button re-draws the same page (never a dead button).

    ``action`` takes ``prefix`` and then the page number as its arguments.
    """
    if page.pages <= 1:
        return []
    row: Row = []
    if page.has_previous:
        row.append(button(t(language, "nav.previous"), action, *prefix, page.page - 1))
    row.append(
        button(
            t(language, "nav.page", page=page.page + 1, pages=page.pages),
            action,
            *prefix,
            page.page,
        )
    )
    if page.has_next:
        row.append(button(t(language, "nav.next"), action, *prefix, page.page + 1))
    return row


def main_menu(language: str) -> InlineKeyboardMarkup:
    return inline(
        [
            [button(t(language, "menu.catalog"), CatalogAction.DISTRICTS, 0)],
            [
                button(t(language, "menu.search"), CatalogAction.SEARCH),
                button(t(language, "menu.nearest"), CatalogAction.NEAREST),
            ],
            [
                button(t(language, "menu.applications"), ApplicationAction.LIST, 0),
                button(t(language, "menu.bookings"), SessionAction.MINE, 0),
            ],
            [
                button(t(language, "menu.profile"), ProfileAction.VIEW),
                button(t(language, "menu.help"), HelpAction.OPEN),
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
