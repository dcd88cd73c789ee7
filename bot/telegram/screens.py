"""Showing a screen and answering buttons, the same way in every feature.

A button press edits its own message in place (and does not edit when nothing would change:
Telegram answers "message is not modified"); a typed message gets a new message. Every callback
query is answered exactly once, so no button keeps spinning. Domain errors become texts by code.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import (
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.domain.catalog import DEFAULT_TIMEZONE
from bot.domain.errors import (
    BookingBlocked,
    CancellationWindowClosed,
    DomainError,
    ValidationFailed,
)
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.texts import clip, format_date, t

log = logging.getLogger(__name__)

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Screen:
    text: str
    markup: ReplyMarkup | None = None


def visible_text(rendered_html: str) -> str:
    """What the user sees for a rendered HTML text (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", rendered_html)).strip()


def _same_content(message: Message, screen: Screen) -> bool:
    if (message.text or "").strip() != visible_text(screen.text):
        return False
    current = message.reply_markup.to_dict() if message.reply_markup else None
    wanted = screen.markup.to_dict() if isinstance(screen.markup, InlineKeyboardMarkup) else None
    return current == wanted


async def show(update: Update, context: FokContext, screen: Screen) -> None:
    """Edit the pressed message into ``screen``, or send ``screen`` as a new message."""
    query = update.callback_query
    message = query.message if query is not None else None
    editable = isinstance(message, Message) and message.text is not None
    if (
        editable
        and isinstance(message, Message)
        and (screen.markup is None or isinstance(screen.markup, InlineKeyboardMarkup))
    ):
        if _same_content(message, screen):
            return
        try:
            await message.edit_text(
                clip(screen.text),
                parse_mode=ParseMode.HTML,
                reply_markup=screen.markup,
                disable_web_page_preview=True,
            )
            return
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return
            raise
    await send(update, context, screen)


async def send(update: Update, context: FokContext, screen: Screen) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    await context.bot.send_message(
        chat.id,
        clip(screen.text),
        parse_mode=ParseMode.HTML,
        reply_markup=screen.markup,
        disable_web_page_preview=True,
    )


async def answer(
    update: Update, context: FokContext, text: str | None = None, *, alert: bool = False
) -> None:
    query = update.callback_query
    if query is None or context.callback_answered:
        return
    context.callback_answered = True
    await query.answer(text[:200] if text else None, show_alert=alert)


def error_text(language: str, error: DomainError) -> str:
    if isinstance(error, BookingBlocked):
        until = error.details["until"]
        assert isinstance(until, datetime)
        zone = ZoneInfo(str(error.details.get("timezone") or DEFAULT_TIMEZONE))
        day = format_date(until.astimezone(zone).date(), language)
        return t(language, "staff.sessions.booking_blocked", until=day)
    if isinstance(error, CancellationWindowClosed):
        return t(language, "error.cancellation_window_closed", hours=error.details["window_hours"])
    if isinstance(error, ValidationFailed):
        specific = {
            ("name", "too_short"): "start.name_invalid",
            ("name", "too_long"): "start.name_invalid",
            ("name", "characters"): "start.name_invalid",
            ("name", "command"): "start.name_invalid",
            ("phone", "not_own_contact"): "phone.not_own",
            ("phone", "invalid"): "phone.invalid",
            ("comment", "too_long"): "apply.comment_too_long",
            ("sports", "empty"): "search.empty_selection",
            # staff
            ("reason", "missing"): "staff.error.reason_missing",
            ("reason", "too_long"): "staff.error.reason_too_long",
            ("query", "empty"): "staff.error.query_empty",
            ("query", "too_long"): "staff.error.query_too_long",
            ("user", "self"): "staff.error.block_self",
            ("role", "self"): "staff.error.role_self",
            ("complexes", "only_for_managers"): "staff.error.only_managers",
        }.get((error.field, error.reason))
        if specific:
            return t(language, specific)
    # The error's own numbers and names (a count, a code) for the templates that show them.
    shown = {k: v for k, v in error.details.items() if isinstance(v, str | int)}
    return t(language, f"error.{error.code}", **shown)


async def refuse(update: Update, context: FokContext, text: str) -> None:
    """Tell the user why nothing happened: an alert on a button, a message otherwise."""
    if update.callback_query is not None:
        await answer(update, context, text, alert=True)
    else:
        await send(update, context, Screen(text))


Handler = Callable[[Update, FokContext], Coroutine[Any, Any, None]]
ButtonHandler = Callable[[Update, FokContext, Callback], Coroutine[Any, Any, None]]


def guarded(handler: Handler) -> Handler:
    """Domain errors become a polite text; a pressed button is always answered.

    Any other error leaves the button unanswered: the error handler (with a context of its own)
    answers it with the apology, or Telegram's retry of a transient failure answers it.
    """

    @functools.wraps(handler)
    async def run(update: Update, context: FokContext) -> None:
        try:
            await handler(update, context)
        except OutdatedButton:
            await refuse(update, context, t(context.language, "fallback.outdated"))
        except DomainError as error:
            await refuse(update, context, error_text(context.language, error))
        if update.callback_query is not None and not context.callback_answered:
            await answer(update, context)

    return run


def chat_id(update: Update) -> int:
    chat = update.effective_chat
    if chat is None:
        raise OutdatedButton("the update has no chat")
    return chat.id


def user_id(update: Update) -> int:
    user = update.effective_user
    if user is None:
        raise OutdatedButton("the update has no sender")
    return user.id
