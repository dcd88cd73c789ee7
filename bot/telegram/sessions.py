"""Sessions: a complex's schedule by day and sport, booking a seat or a waitlist place, my
bookings, cancelling inside the complex's window, .ics files, seat offers and reminder buttons."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.domain.bookings import Booking, BookingStatus
from bot.domain.catalog import Complex
from bot.domain.paging import PageRequest
from bot.domain.sessions import Availability, Session
from bot.telegram.actions import CatalogAction, SessionAction
from bot.telegram.callbacks import (
    Callback,
    OutdatedButton,
    day_ref,
    parse_day_ref,
    resolve_sport_ref,
    sport_ref,
)
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, inline, menu_row, pager_row
from bot.telegram.naming import sport_name
from bot.telegram.render import session_block
from bot.telegram.routing import Routes
from bot.telegram.screens import Screen, answer, chat_id, show, user_id
from bot.telegram.texts import Markup, format_date, format_time, format_when, join, m, t

B = BookingStatus
PAGE_SIZE = 6
ALL_SPORTS = "-"
_BOOKING_ID = re.compile(r"^[0-9a-f]{24}:\d{1,20}$")
_SESSION_ID = re.compile(r"^[0-9a-f]{24}$")


def _booking_arg(data: Callback) -> str:
    value = data.arg(0)
    if not _BOOKING_ID.match(value):
        raise OutdatedButton("malformed booking id")
    return value


def _session_arg(data: Callback) -> str:
    value = data.arg(0)
    if not _SESSION_ID.match(value):
        raise OutdatedButton("malformed session id")
    return value


# --- schedule ----------------------------------------------------------------------------


async def day_schedule(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    complex_ = await context.services.catalog.complex(data.arg(0))
    day = parse_day_ref(data.arg(1))
    sport_arg = data.arg(2)
    sport = None if sport_arg == ALL_SPORTS else resolve_sport_ref(sport_arg, list(complex_.sports))
    view = await context.services.schedule.day_view(complex_, day, sport)
    day = view.day
    lines: list[str] = []
    rows: list[Row] = []
    for slot in view.sessions:
        session = slot.session
        if slot.availability is Availability.CLOSED:
            seats = t(language, "schedule.past")
        elif slot.availability is Availability.FULL:
            seats = t(language, "schedule.full")
        else:
            seats = t(
                language, "schedule.seats", left=session.seats_left, capacity=session.capacity
            )
        title = session.title.get(language)
        session_sport = await sport_name(context, session.sport_code)
        lines.append(
            t(
                language,
                "schedule.line",
                time=format_time(session.starts_at, complex_.timezone),
                sport=session_sport,
                title=f" «{title}»" if title else "",
                seats=seats,
            )
        )
        if slot.availability is not Availability.CLOSED:
            label = f"{format_time(session.starts_at, complex_.timezone)} {title or session_sport}"
            rows.append([button(label[:60], SessionAction.SESSION, session.id)])
    sport_label = (
        m(language, "schedule.sport_filter", sport=await sport_name(context, sport))
        if sport
        else Markup("")
    )
    text = t(
        language,
        "schedule.day",
        complex=complex_.name.get(language),
        day=format_date(day, language),
        sport=sport_label,
        lines=join(lines) if lines else m(language, "schedule.empty"),
    )
    nav: Row = []
    if view.has_previous:
        nav.append(
            button(
                "⬅️", SessionAction.DAY, complex_.code, day_ref(day - timedelta(days=1)), sport_arg
            )
        )
    if view.has_next:
        nav.append(
            button(
                "➡️", SessionAction.DAY, complex_.code, day_ref(day + timedelta(days=1)), sport_arg
            )
        )
    filters: Row = []
    if len(complex_.sports) > 1:
        if sport is not None:
            filters.append(
                button(
                    t(language, "schedule.all_sports"),
                    SessionAction.DAY,
                    complex_.code,
                    day_ref(day),
                    ALL_SPORTS,
                )
            )
        for code in complex_.sports:
            if code != sport:
                filters.append(
                    button(
                        await sport_name(context, code),
                        SessionAction.DAY,
                        complex_.code,
                        day_ref(day),
                        sport_ref(code),
                    )
                )
    filter_rows = [filters[i : i + 3] for i in range(0, len(filters), 3)]
    rows = [
        *rows,
        nav,
        *filter_rows,
        [button(t(language, "schedule.to_complex"), CatalogAction.CARD, complex_.code)],
        menu_row(language),
    ]
    await show(update, context, Screen(text, inline(rows)))


async def session_card(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    view = await context.services.bookings.session_view(user_id(update), _session_arg(data))
    session, complex_ = view.session, view.complex_
    if view.booking is not None:
        await show(update, context, await booking_screen(context, view.booking, session, complex_))
        return
    rows: list[Row] = []
    if view.availability is Availability.CLOSED:
        seats = t(language, "session.unavailable")
    elif view.availability is Availability.OPEN:
        seats = t(
            language, "session.seats_left", left=session.seats_left, capacity=session.capacity
        )
        rows.append([button(t(language, "session.book"), SessionAction.BOOK, session.id)])
    else:
        seats = t(language, "session.full")
        rows.append([button(t(language, "session.join_waitlist"), SessionAction.BOOK, session.id)])
    local_day = session.starts_at.astimezone(ZoneInfo(complex_.timezone)).date()
    rows.append(
        [
            button(
                t(language, "session.to_day"),
                SessionAction.DAY,
                complex_.code,
                day_ref(local_day),
                ALL_SPORTS,
            )
        ]
    )
    rows.append(menu_row(language))
    block = await session_block(context, session, complex_)
    text = t(language, "session.card", session=block, seats=seats)
    await show(update, context, Screen(text, inline(rows)))


async def book(update: Update, context: FokContext, data: Callback) -> None:
    """A seat if one is left, else the waitlist; a double tap returns what the first one made."""
    language = context.language
    outcome = await context.services.bookings.book(context.resident, _session_arg(data))
    session, complex_ = outcome.session, outcome.complex_
    block = await session_block(context, session, complex_)
    if outcome.booked:
        text = t(
            language, "booking.booked", session=block, window=complex_.cancellation_window_hours
        ) + _checkin_line(language, outcome.booking)
        await show(update, context, Screen(text, _booking_keyboard(language, outcome.booking)))
    elif outcome.waitlisted:
        text = t(
            language, "booking.waitlisted", session=block, position=outcome.waitlist_position or 1
        )
        await show(update, context, Screen(text, _booking_keyboard(language, outcome.booking)))
    else:
        await show(
            update, context, await booking_screen(context, outcome.booking, session, complex_)
        )


def _checkin_line(language: str, booking: Booking) -> Markup:
    """The code the resident shows at the door; staff type it to mark them present."""
    if booking.status is not B.ACTIVE or not booking.checkin_code:
        return Markup("")
    return m(language, "staff.sessions.checkin_line", code=booking.checkin_code)


def _booking_keyboard(language: str, booking: Booking) -> InlineKeyboardMarkup:
    rows: list[Row] = []
    if booking.status is B.ACTIVE:
        rows.append([button(t(language, "booking.ics"), SessionAction.CALENDAR, booking.id)])
        rows.append([button(t(language, "booking.cancel"), SessionAction.CANCEL, booking.id)])
    elif booking.status is B.WAITLISTED:
        rows.append(
            [button(t(language, "booking.leave_waitlist"), SessionAction.CANCEL, booking.id)]
        )
    elif booking.status is B.OFFERED:
        rows.append(
            [
                button(t(language, "offer.take"), SessionAction.ACCEPT_OFFER, booking.id),
                button(t(language, "offer.decline"), SessionAction.DECLINE_OFFER, booking.id),
            ]
        )
    rows.append([button(t(language, "bookings.to_list"), SessionAction.MINE, 0)])
    rows.append(menu_row(language))
    return inline(rows)


async def booking_screen(
    context: FokContext, booking: Booking, session: Session, complex_: Complex
) -> Screen:
    language = context.language
    extra = Markup("")
    if booking.status is B.WAITLISTED:
        position = await context.services.bookings.waitlist_position(booking)
        extra = m(language, "booking.position", position=position or 1)
    elif booking.status is B.OFFERED and booking.offer_expires_at is not None:
        until = format_when(booking.offer_expires_at, complex_.timezone, language)
        extra = m(language, "booking.offer_until", until=until)
    elif booking.status is B.ACTIVE and booking.confirmed_at is not None:
        extra = m(language, "booking.confirmed_mark")
    text = t(
        language,
        "booking.card",
        status=t(language, f"booking.status.{booking.status.value}"),
        session=await session_block(context, session, complex_),
        extra=join([extra, _checkin_line(language, booking)], ""),
    )
    keyboard = _booking_keyboard(language, booking)
    return Screen(text, keyboard)


async def _load(context: FokContext, update: Update, bid: str) -> tuple[Booking, Session, Complex]:
    booking = await context.services.bookings.get_for_user(user_id(update), bid)
    session = await context.services.schedule.session(booking.session_id)
    complex_ = await context.services.catalog.complex(session.complex_code)
    return booking, session, complex_


async def my_bookings(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    request = PageRequest(page=data.int_arg(0, high=1000), size=PAGE_SIZE)
    page = await context.services.bookings.mine(user_id(update), request)
    if page.total == 0:
        rows = [
            [button(t(language, "menu.catalog"), CatalogAction.DISTRICTS, 0)],
            menu_row(language),
        ]
        await show(update, context, Screen(t(language, "bookings.empty"), inline(rows)))
        return
    rows = []
    for booking in page.items:
        session = await context.services.schedule.session(booking.session_id)
        complex_ = await context.services.catalog.complex(session.complex_code)
        label = t(
            language,
            "bookings.item",
            when=format_when(session.starts_at, complex_.timezone, language),
            complex=complex_.name.get(language),
        )
        mark = {B.WAITLISTED: "⏳ ", B.OFFERED: "🎉 "}.get(booking.status, "")
        rows.append([button(f"{mark}{label}"[:60], SessionAction.BOOKING, booking.id)])
    rows += [pager_row(language, page, SessionAction.MINE), menu_row(language)]
    await show(
        update, context, Screen(t(language, "bookings.title", total=page.total), inline(rows))
    )


async def booking_card(update: Update, context: FokContext, data: Callback) -> None:
    booking, session, complex_ = await _load(context, update, _booking_arg(data))
    await show(update, context, await booking_screen(context, booking, session, complex_))


async def ask_cancel(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    booking, session, complex_ = await _load(context, update, _booking_arg(data))
    if booking.status not in (B.ACTIVE, B.WAITLISTED, B.OFFERED):
        await show(update, context, await booking_screen(context, booking, session, complex_))
        return
    text = t(
        language, "booking.confirm_cancel", session=await session_block(context, session, complex_)
    )
    rows = [
        [
            button(t(language, "booking.yes_cancel"), SessionAction.CONFIRM_CANCEL, booking.id),
            button(t(language, "booking.no_keep"), SessionAction.BOOKING, booking.id),
        ]
    ]
    await show(update, context, Screen(text, inline(rows)))


async def confirm_cancel(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    bid = _booking_arg(data)
    before, session, complex_ = await _load(context, update, bid)
    await context.services.bookings.cancel(user_id(update), bid)
    block = await session_block(context, session, complex_)
    key = "booking.left_waitlist" if before.status is B.WAITLISTED else "booking.cancelled"
    rows = [[button(t(language, "bookings.to_list"), SessionAction.MINE, 0)], menu_row(language)]
    await show(update, context, Screen(t(language, key, session=block), inline(rows)))


async def calendar_file(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    booking, session, complex_ = await _load(context, update, _booking_arg(data))
    if booking.status is not B.ACTIVE:
        await show(update, context, await booking_screen(context, booking, session, complex_))
        return
    content = context.services.calendar.render_booking(session, complex_, language)
    local = session.starts_at.astimezone(ZoneInfo(complex_.timezone))
    await answer(update, context)
    title = session.title.get(language) or complex_.name.get(language)
    await context.bot.send_document(
        chat_id(update),
        InputFile(content, filename=f"fok-{local:%Y%m%d-%H%M}.ics"),
        caption=t(language, "booking.ics_caption", title=title),
        parse_mode="HTML",
    )


async def accept_offer(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    accepted = await context.services.bookings.accept_offer(user_id(update), _booking_arg(data))
    session = await context.services.schedule.session(accepted.session_id)
    complex_ = await context.services.catalog.complex(session.complex_code)
    text = t(
        language, "offer.taken", session=await session_block(context, session, complex_)
    ) + _checkin_line(language, accepted)
    await show(update, context, Screen(text, _booking_keyboard(language, accepted)))


async def decline_offer(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    await context.services.bookings.decline_offer(user_id(update), _booking_arg(data))
    await show(update, context, Screen(t(language, "offer.declined"), inline([menu_row(language)])))


async def reminder_confirm(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    confirmed = await context.services.bookings.confirm_attendance_intent(
        user_id(update), _booking_arg(data)
    )
    session = await context.services.schedule.session(confirmed.session_id)
    complex_ = await context.services.catalog.complex(session.complex_code)
    text = t(
        language, "reminder.confirmed", session=await session_block(context, session, complex_)
    )
    rows = [
        [button(t(language, "booking.cancel"), SessionAction.CANCEL, confirmed.id)],
        menu_row(language),
    ]
    await show(update, context, Screen(text, inline(rows)))


ROUTES = Routes(
    SessionAction,
    {
        SessionAction.DAY: day_schedule,
        SessionAction.SESSION: session_card,
        SessionAction.BOOK: book,
        SessionAction.MINE: my_bookings,
        SessionAction.BOOKING: booking_card,
        SessionAction.CANCEL: ask_cancel,
        SessionAction.REMINDER_CANCEL: ask_cancel,
        SessionAction.CONFIRM_CANCEL: confirm_cancel,
        SessionAction.CALENDAR: calendar_file,
        SessionAction.ACCEPT_OFFER: accept_offer,
        SessionAction.DECLINE_OFFER: decline_offer,
        SessionAction.REMINDER_CONFIRM: reminder_confirm,
    },
)
