"""Broadcasts as the bot shows them, and the BroadcastSender port over python-telegram-bot.

The author's progress screen is drawn by one function for both the staff screens (a pressed
button) and the worker that edits the progress message while it sends, so the two never differ.
The sender takes its slot from the cluster-wide outbound limiter itself, tells the fan-out the
message is about to leave (``dispatch``), and only then sends: a worker killed while it waited for
the budget leaves the message unsent and resumable, not "maybe sent". Its Bot must therefore not
wait for the limiter again on ``sendMessage`` (``bot.bootstrap.build_broadcast_bot``).
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastCounts,
    BroadcastState,
)
from bot.domain.catalog import DEFAULT_TIMEZONE
from bot.domain.errors import NotFound
from bot.services.container import Services
from bot.services.ports.broadcasts import Dispatch, SendOutcome, SendResult
from bot.services.ports.ephemeral import OutboundLimiter, OutboundWaitTooLong
from bot.telegram.actions import StaffAction, StaffBroadcastAction
from bot.telegram.context import NoticeView, View
from bot.telegram.keyboards import Row, button, inline
from bot.telegram.naming import complex_name, sport_name
from bot.telegram.screens import Screen
from bot.telegram.texts import Markup, clip, format_when, join, t

log = logging.getLogger(__name__)
B = StaffBroadcastAction
STATE_EMOJI = {
    BroadcastState.DRAFT: "📝",
    BroadcastState.QUEUED: "⏳",
    BroadcastState.RUNNING: "📤",
    BroadcastState.DONE: "✅",
    BroadcastState.CANCELLED: "⛔",
}
# Timeouts that mean the request never left: the pool was busy, or no connection was made.
_NOT_SENT_TIMEOUTS = frozenset({"PoolTimeout", "ConnectTimeout"})


async def audience_label(view: View, audience: Audience) -> str:
    language = view.language
    if audience.kind is AudienceKind.ALL:
        return t(language, "staff.broadcast.audience.all")
    code = str(audience.code)
    if audience.kind is AudienceKind.COMPLEX:
        return t(language, "staff.broadcast.audience.complex", name=await complex_name(view, code))
    if audience.kind is AudienceKind.SPORT:
        key = "sport_scoped" if audience.complexes is not None else "sport"
        return t(language, f"staff.broadcast.audience.{key}", sport=await sport_name(view, code))
    try:
        session = await view.services.schedule.session(code)
    except NotFound:
        return t(language, "staff.broadcast.audience.session_gone")
    try:
        complex_ = await view.services.catalog.complex(session.complex_code)
        zone, name = complex_.timezone, complex_.name.get(language)
    except NotFound:
        zone, name = DEFAULT_TIMEZONE, session.complex_code
    title = session.title.get(language) or await sport_name(view, session.sport_code)
    return t(
        language,
        "staff.broadcast.audience.session",
        title=title,
        when=format_when(session.starts_at, zone, language),
        complex=name,
    )


def count_lines(language: str, broadcast: Broadcast, counts: BroadcastCounts) -> list[str]:
    """What happened so far: recipients and each outcome that occurred."""
    if counts.total == 0:
        return [t(language, "staff.broadcast.line.estimated", n=broadcast.estimated)]
    lines = [
        t(language, "staff.broadcast.line.recipients", n=counts.total),
        t(language, "staff.broadcast.line.delivered", n=counts.delivered),
    ]
    for key, value in (
        ("blocked", counts.blocked),
        ("failed", counts.failed),
        ("skipped", counts.skipped),
        ("unconfirmed", counts.unconfirmed),
    ):
        if value:
            lines.append(t(language, f"staff.broadcast.line.{key}", n=value))
    if broadcast.state in (BroadcastState.CANCELLED, BroadcastState.DONE) and counts.unsettled:
        lines.append(t(language, "staff.broadcast.line.not_sent", n=counts.unsettled))
    return lines


def state_text(language: str, broadcast: Broadcast, counts: BroadcastCounts) -> str:
    if broadcast.state is BroadcastState.RUNNING:
        total = counts.total or broadcast.estimated
        return t(language, "staff.broadcast.state.running", settled=counts.settled, total=total)
    return t(language, f"staff.broadcast.state.{broadcast.state.value}")


def progress_keyboard(language: str, broadcast: Broadcast, counts: BroadcastCounts) -> list[Row]:
    if broadcast.is_open:
        return [[button(t(language, "staff.broadcast.stop"), B.CANCEL, broadcast.id)]]
    rows: list[Row] = []
    if broadcast.state is BroadcastState.DONE and counts.unconfirmed:
        label = t(language, "staff.broadcast.resend", n=counts.unconfirmed)
        rows.append([button(label, B.RESEND, broadcast.id)])
    rows.append(
        [
            button(t(language, "staff.broadcast.back"), B.HOME),
            button(t(language, "staff.hub.to_hub"), StaffAction.HUB),
        ]
    )
    return rows


async def progress_screen(
    view: View,
    broadcast: Broadcast,
    counts: BroadcastCounts,
    *,
    extra: list[str] | None = None,
    rows: list[Row] | None = None,
) -> Screen:
    """The broadcast's state, audience, text excerpt and counts, with what can be done now."""
    language = view.language
    lines = [*(extra or []), *count_lines(language, broadcast, counts)]
    text = t(
        language,
        "staff.broadcast.progress",
        state=Markup(state_text(language, broadcast, counts)),
        audience=await audience_label(view, broadcast.audience),
        excerpt=broadcast.excerpt,
        lines=join(lines),
    )
    keyboard = progress_keyboard(language, broadcast, counts) + (rows or [])
    return Screen(clip(text), inline(keyboard))


class TelegramBroadcastSender:
    def __init__(
        self,
        services: Services,
        bot: Bot,
        limiter: OutboundLimiter | None,
        *,
        paid: bool = False,
    ) -> None:
        self._services = services
        self._bot = bot
        self._limiter = limiter
        self._paid = paid

    async def send(self, broadcast: Broadcast, user_id: int, *, dispatch: Dispatch) -> SendOutcome:
        if self._limiter is not None:
            try:
                await self._limiter.acquire(user_id, is_group=False)
            except OutboundWaitTooLong as too_long:
                return SendOutcome(SendResult.RETRY, str(too_long), too_long.would_wait_s)
        if not await dispatch():
            return SendOutcome(SendResult.NOT_OURS)
        try:
            await self._bot.send_message(
                user_id,
                broadcast.html,
                parse_mode=ParseMode.HTML,
                disable_web_page_preview=True,
                allow_paid_broadcast=True if self._paid else None,
            )
        except Forbidden as error:
            return SendOutcome(SendResult.BLOCKED, error.message)
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
            return SendOutcome(SendResult.RETRY, error.message, float(seconds))
        except TimedOut as error:
            if type(error.__cause__).__name__ in _NOT_SENT_TIMEOUTS:
                return SendOutcome(SendResult.RETRY, error.message)
            # The request left and no answer came back: Telegram may have sent it.
            return SendOutcome(SendResult.UNCONFIRMED, error.message)
        except BadRequest as error:
            log.error("telegram refused broadcast %s: %s", broadcast.id, error.message)
            return SendOutcome(SendResult.FAILED, f"Bad Request: {error.message}")
        except NetworkError as error:  # 5xx and connection errors: Telegram did not send it
            return SendOutcome(SendResult.RETRY, error.message)
        except TelegramError as error:
            return SendOutcome(SendResult.FAILED, error.message)
        return SendOutcome(SendResult.SENT)

    async def show_progress(self, broadcast: Broadcast, counts: BroadcastCounts) -> bool:
        if broadcast.sender_chat_id is None or broadcast.sender_message_id is None:
            return False
        author = await self._services.users.get(broadcast.author_id)
        view = NoticeView(self._services, author.language if author else "ru")
        screen = await progress_screen(view, broadcast, counts)
        try:
            await self._bot.edit_message_text(
                screen.text,
                chat_id=broadcast.sender_chat_id,
                message_id=broadcast.sender_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=screen.markup,  # type: ignore[arg-type]  # always inline here
                disable_web_page_preview=True,
            )
        except BadRequest as error:
            message = error.message.lower()
            if "not modified" in message:
                return True
            if "not found" in message or "can't be edited" in message:
                return False
            raise
        except Forbidden:
            return False  # the author blocked the bot
        return True
