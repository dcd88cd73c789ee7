"""Messages sent outside a reply: an application's status changed, a seat is offered, a reminder.

Each is rendered as a :class:`Notice` (chat, text, keyboard) so that whoever delivers it (the
outbox deliverer, the reminder task) sends exactly what the bot would show. Only rendering
happens here: whether a notice is still to be sent, and what it is about, the delivery service
(``bot.services.delivery``) has decided and read already. Their buttons
(«Беру»/«Отказаться», «Приду»/«Отменить», «Открыть заявку») are ordinary callback data handled by
``sessions`` and ``applications``, which re-check ownership and state when pressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode

from bot.domain.reminders import ReminderKind
from bot.services.container import Services
from bot.services.ports.system import (
    ApplicationStatusNotice,
    BlockedNotice,
    OutboxNotice,
    ReminderNotice,
    SeatOfferNotice,
    SessionCancelledNotice,
    StaffApplicationNotice,
)
from bot.telegram.actions import ApplicationAction, SessionAction, StaffApplicationAction
from bot.telegram.context import NoticeView
from bot.telegram.keyboards import button, inline
from bot.telegram.naming import complex_name, sport_name
from bot.telegram.render import session_block
from bot.telegram.staff.render import decision_row, number_of
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


async def application_status_notice(services: Services, notice: ApplicationStatusNotice) -> Notice:
    application, user = notice.application, notice.user
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
        number=number_of(application),
        line=m(language, f"notify.{application.status.value}"),
        complex=await complex_name(view, application.complex_code),
        sport=await sport_name(view, application.sport_code),
        comment=comment,
    )
    keyboard = inline(
        [[button(t(language, "notify.open_application"), ApplicationAction.VIEW, application.id)]]
    )
    return Notice(application.user_id, clip(text), keyboard)


async def seat_offer_notice(services: Services, notice: SeatOfferNotice) -> Notice:
    booking, user, session, complex_ = notice.booking, notice.user, notice.session, notice.complex_
    view = NoticeView(services, user.language)
    language = user.language
    text = t(
        language,
        "offer.text",
        session=await session_block(view, session, complex_),
        until=format_when(notice.offer_until, complex_.timezone, language),
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


async def reminder_notice(services: Services, notice: ReminderNotice) -> Notice:
    reminder, booking, user = notice.reminder, notice.booking, notice.user
    session, complex_ = notice.session, notice.complex_
    view = NoticeView(services, user.language)
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


async def staff_application_notice(services: Services, notice: StaffApplicationNotice) -> Notice:
    """A new application for a staff member: who, where, and the one-tap decisions."""
    application, user = notice.application, notice.user
    view = NoticeView(services, user.language)
    language = user.language
    comment = (
        m(language, "staff.apps.comment", text=application.comment)
        if application.comment
        else Markup("")
    )
    text = t(
        language,
        "staff.notify.new",
        number=number_of(application),
        name=application.applicant_name or t(language, "staff.apps.erased"),
        phone=application.applicant_phone or t(language, "staff.apps.no_phone"),
        complex=await complex_name(view, application.complex_code),
        sport=await sport_name(view, application.sport_code),
        comment=comment,
    )
    open_row = [
        button(t(language, "staff.notify.open"), StaffApplicationAction.CARD, application.id)
    ]
    keyboard = inline([decision_row(language, application), open_row])
    return Notice(user.telegram_id, clip(text), keyboard)


def blocked_notice(notice: BlockedNotice) -> Notice:
    language = notice.user.language
    reason = (
        m(language, "staff.notify.blocked_reason", reason=notice.reason)
        if notice.reason
        else Markup("")
    )
    return Notice(notice.user.telegram_id, t(language, "staff.notify.blocked", reason=reason))


async def session_cancelled_notice(services: Services, notice: SessionCancelledNotice) -> Notice:
    """Staff cancelled a session the user was booked on or waiting for, with their reason."""
    booking, user, session, complex_ = notice.booking, notice.user, notice.session, notice.complex_
    view = NoticeView(services, user.language)
    language = user.language
    text = t(
        language,
        "staff.sessions.notice_cancelled",
        session=await session_block(view, session, complex_),
        reason=session.cancel_reason or "—",
    )
    keyboard = inline([[button(t(language, "menu.bookings"), SessionAction.MINE, 0)]])
    return Notice(booking.user_id, clip(text), keyboard)


async def outbox_notice(services: Services, notice: OutboxNotice) -> Notice:
    """The message for an outbox notice the delivery service decided to send."""
    if isinstance(notice, ApplicationStatusNotice):
        return await application_status_notice(services, notice)
    if isinstance(notice, StaffApplicationNotice):
        return await staff_application_notice(services, notice)
    if isinstance(notice, BlockedNotice):
        return blocked_notice(notice)
    if isinstance(notice, SessionCancelledNotice):
        return await session_cancelled_notice(services, notice)
    return await seat_offer_notice(services, notice)


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
