"""Messages sent outside a reply: an application's status changed, a seat is offered, a reminder.

Each is rendered as a :class:`Notice` (chat, text, keyboard) so that whoever delivers it (the
outbox deliverer, the reminder task) sends exactly what the bot would show. Their buttons
(«Беру»/«Отказаться», «Приду»/«Отменить», «Открыть заявку») are ordinary callback data handled by
``sessions`` and ``applications``, which re-check ownership and state when pressed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode

from bot.domain.applications import Application
from bot.domain.bookings import Booking, BookingStatus
from bot.domain.errors import NotFound
from bot.domain.reminders import Reminder, ReminderKind
from bot.domain.users import User
from bot.services.container import Services
from bot.telegram.actions import ApplicationAction, SessionAction
from bot.telegram.context import NoticeView
from bot.telegram.keyboards import button, inline
from bot.telegram.naming import complex_name, sport_name
from bot.telegram.render import session_block
from bot.telegram.texts import Markup, clip, format_when, m, t


@dataclass(frozen=True)
class Notice:
    chat_id: int
    text: str
    keyboard: InlineKeyboardMarkup | None = None

    def send_message_params(self) -> dict[str, Any]:
        """Bot API ``sendMessage`` parameters (for a deliverer that does not use PTB)."""
        params: dict[str, Any] = {"chat_id": self.chat_id, "text": self.text, "parse_mode": "HTML"}
        if self.keyboard is not None:
            params["reply_markup"] = self.keyboard.to_dict()
        return params


def _reachable(user: User | None) -> bool:
    return user is not None and user.is_registered and not user.blocked


async def application_status_notice(services: Services, application: Application) -> Notice | None:
    user = await services.users.get(application.user_id)
    if not _reachable(user) or user is None or not user.notifications.application_updates:
        return None
    view = NoticeView(services, user.language)
    language = user.language
    last = application.history[-1] if application.history else None
    comment = (
        m(language, "apps.comment", text=last.comment)
        if last is not None and last.comment
        else Markup("")
    )
    text = t(
        language,
        "notify.application",
        number=application.id[-6:].upper(),
        line=m(language, f"notify.{application.status.value}"),
        complex=await complex_name(view, application.complex_code),
        sport=await sport_name(view, application.sport_code),
        comment=comment,
    )
    keyboard = inline(
        [[button(t(language, "notify.open_application"), ApplicationAction.VIEW, application.id)]]
    )
    return Notice(application.user_id, clip(text), keyboard)


async def seat_offer_notice(services: Services, booking: Booking) -> Notice | None:
    if booking.status is not BookingStatus.OFFERED or booking.offer_expires_at is None:
        return None  # taken, declined or expired meanwhile: nothing to offer any more
    user = await services.users.get(booking.user_id)
    if not _reachable(user) or user is None:
        return None
    view = NoticeView(services, user.language)
    session = await services.schedule.session(booking.session_id)
    complex_ = await services.catalog.complex(session.complex_code)
    language = user.language
    text = t(
        language,
        "offer.text",
        session=await session_block(view, session, complex_),
        until=format_when(booking.offer_expires_at, complex_.timezone, language),
    )
    keyboard = inline(
        [
            [
                button(t(language, "offer.take"), SessionAction.ACCEPT_OFFER, booking.id),
                button(t(language, "offer.decline"), SessionAction.DECLINE_OFFER, booking.id),
            ]
        ]
    )
    return Notice(booking.user_id, clip(text), keyboard)


async def reminder_notice(services: Services, reminder: Reminder) -> Notice | None:
    user = await services.users.get(reminder.user_id)
    if not _reachable(user) or user is None or not user.notifications.reminders:
        return None
    try:
        booking = await services.bookings.get_for_user(reminder.user_id, reminder.booking_id)
    except NotFound:
        return None
    if booking.status is not BookingStatus.ACTIVE:
        return None
    view = NoticeView(services, user.language)
    session = await services.schedule.session(booking.session_id)
    complex_ = await services.catalog.complex(session.complex_code)
    language = user.language
    key = (
        "reminder.day_before"
        if reminder.kind is ReminderKind.DAY_BEFORE
        else "reminder.hours_before"
    )
    text = t(language, key, session=await session_block(view, session, complex_))
    keyboard = inline(
        [
            [
                button(t(language, "reminder.coming"), SessionAction.REMINDER_CONFIRM, booking.id),
                button(t(language, "reminder.cancel"), SessionAction.REMINDER_CANCEL, booking.id),
            ]
        ]
    )
    return Notice(reminder.user_id, clip(text), keyboard)


async def outbox_notice(
    services: Services, kind: str, user_id: int, payload: Mapping[str, Any]
) -> Notice | None:
    """The notice for an outbox entry (``application_status`` or ``seat_offer``), or None when it
    no longer applies (the user opted out, deleted their data, or the offer is gone)."""
    try:
        if kind == "application_status":
            application = await services.applications.get_for_user(
                user_id, str(payload["application_id"])
            )
            return await application_status_notice(services, application)
        if kind == "seat_offer":
            booking = await services.bookings.get_for_user(user_id, str(payload["booking_id"]))
            return await seat_offer_notice(services, booking)
    except NotFound:
        return None
    raise ValueError(f"unknown outbox kind {kind!r}")


async def deliver(bot: Bot, notice: Notice) -> int:
    """Send one notice with PTB; returns the message id."""
    message = await bot.send_message(
        notice.chat_id,
        notice.text,
        parse_mode=ParseMode.HTML,
        reply_markup=notice.keyboard,
        disable_web_page_preview=True,
    )
    return message.message_id
