"""Sessions: schedule by day, booking, .ics, waitlist positions, seat offers with a hold that
expires, the cancellation window, reminders with «Приду» / «Отменить»."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.i18n import LocalizedText
from bot.domain.sessions import Session
from tests.e2e.conftest import BotStack
from tests.e2e.journeys.conftest import (
    BackOffice,
    Person,
    ShiftedClock,
    assert_rendering_clean,
    new_person,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

COMPLEX = "fok-avtozavodsky-1"  # ФОК «Олимп»: cancellation window 2 h, waitlist hold 60 min
MOSCOW = ZoneInfo("Europe/Moscow")
TITLE = "Йога <для всех> & друзей"


async def one_off(office: BackOffice, starts_at: datetime, capacity: int, title: str) -> Session:
    return await office.services.schedule.create_one_off(
        None,
        complex_code=COMPLEX,
        sport_code="yoga",
        starts_at=starts_at,
        duration_minutes=60,
        capacity=capacity,
        title=LocalizedText({"ru": title, "en": title}),
    )


def days_ahead(starts_at: datetime) -> int:
    today = datetime.now(UTC).astimezone(MOSCOW).date()
    return (starts_at.astimezone(MOSCOW).date() - today).days


async def open_session(person: Person, title: str, starts_at: datetime) -> dict:  # type: ignore[type-arg]
    menu = await person.say("/menu")
    districts = await person.press(menu, "Каталог")
    district = await person.press(districts, "Автозаводский")
    card = await person.press(district, "Олимп")
    day = await person.press(card, "Расписание")
    for _ in range(days_ahead(starts_at)):
        day = await person.press(day, "➡️")
    assert starts_at.astimezone(MOSCOW).strftime("%d.%m.%Y") in text_of(day)
    return await person.press(day, title[:10])


async def test_book_ics_waitlist_offer_expiry_and_reminder(
    bot_stack: BotStack, back_office: BackOffice
) -> None:
    client = bot_stack.client
    db = bot_stack.mongo()
    day = (datetime.now(UTC) + timedelta(days=2)).astimezone(MOSCOW).date()
    starts_at = datetime.combine(day, time(10, 0), tzinfo=MOSCOW).astimezone(UTC)
    session = await one_off(back_office, starts_at, capacity=1, title=TITLE)

    anna = await new_person(client, "Анна")
    await anna.register("Анна")
    card = await open_session(anna, TITLE, starts_at)
    assert TITLE in text_of(card)
    assert "Свободно мест: 1 из 1" in text_of(card)
    assert "Europe/Moscow" in text_of(card)
    assert "10:00" in text_of(card)
    booked = await anna.press(card, "Записаться")
    assert "Вы записаны" in text_of(booked)
    assert "за 2 ч" in text_of(booked)

    ics_message = await anna.press(booked, "календарь")
    assert ics_message["document"]["file_name"].endswith(".ics")
    ics = (await client.download(ics_message)).decode()
    assert "BEGIN:VCALENDAR" in ics
    assert "DTSTART" in ics

    boris = await new_person(client, "Борис")
    await boris.register("Борис")
    full = await open_session(boris, TITLE, starts_at)
    assert "Мест нет" in text_of(full)
    waiting = await boris.press(full, "лист ожидания")
    assert "позиция: 1" in text_of(waiting)

    vera = await new_person(client, "Вера")
    await vera.register("Вера")
    waiting_vera = await vera.press(await open_session(vera, TITLE, starts_at), "лист ожидания")
    assert "позиция: 2" in text_of(waiting_vera)

    # Anna cancels (two days ahead: inside the window) → Boris is offered the seat.
    mine = await anna.press(await anna.say("/menu"), "Мои записи")
    booking_card = await anna.press(mine, "Олимп")
    confirm = await anna.press(booking_card, "Отменить запись")
    cancelled = await anna.press(confirm, "Да, отменить")
    assert "Запись отменена" in text_of(cancelled)

    await back_office.deliver_notices(expected=1)
    offer = await boris.last()
    assert "Освободилось место" in text_of(offer)
    assert TITLE in text_of(offer)
    labels = [b["text"] for row in offer["reply_markup"]["inline_keyboard"] for b in row]
    assert "✅ Беру" in labels
    assert "❌ Отказаться" in labels

    # Boris lets the hold time pass: the seat moves on to Vera.
    later = build_later_services(back_office, timedelta(minutes=61))
    assert await later.bookings.expire_offers() == 1
    await back_office.deliver_notices(expected=1)
    await boris.press(offer, "Беру")
    assert "больше не действует" in await boris.alert()
    offer_vera = await vera.last()
    taken = await vera.press(offer_vera, "Беру")
    assert "Место ваше" in text_of(taken)
    seat = await db.bookings.find_one({"session_id": session.id, "user_id": vera.id})
    assert seat["status"] == "active"
    stored_session = await db.sessions.find_one({"_id": session.id})
    assert stored_session["booked"] == 1

    # The day-before reminder, sent by the worker when due, offers «Приду» / «Отменить».
    sent = 0
    reports = []
    # The day-before reminder is the first of Vera's to fall due. Its time depends on the hour
    # of the run: the session is on a Moscow date two days on, at 10:00. So the worker's clock
    # is set from it, not from now (a fixed day and five minutes missed it after 21:00 UTC).
    first_due = min([r["due_at"] async for r in db.reminders.find({"user_id": vera.id})])
    if first_due.tzinfo is None:
        first_due = first_due.replace(tzinfo=UTC)
    for attempt in range(10):
        # A send refused by Vera's per-chat limit (she was just answered) is retried after the
        # workers' backoff: each round the worker's clock is a minute later, past that backoff,
        # so the round trip is bounded by the rounds and not by how busy the machine is.
        due_in = first_due - datetime.now(UTC)
        reminder_clock = ShiftedClock(due_in + timedelta(minutes=5 + attempt))
        report = await back_office.delivery(reminder_clock).deliver_reminders()
        reports.append(report)
        sent += report.sent
        if sent:
            break
        await asyncio.sleep(1.1)
    reminders = [r async for r in db.reminders.find({})]
    assert sent == 1, (reports, reminders)
    reminder = await vera.last()
    assert "Напоминание" in text_of(reminder)
    coming = await vera.press(reminder, "Приду")
    assert "ждём вас" in text_of(coming)
    seat = await db.bookings.find_one({"session_id": session.id, "user_id": vera.id})
    assert seat["confirmed_at"] is not None
    await assert_rendering_clean(client)


def build_later_services(office: BackOffice, offset: timedelta):  # type: ignore[no-untyped-def]
    from bot.bootstrap import build_services

    return build_services(office.storage, ShiftedClock(offset))


async def test_cancellation_refused_inside_the_window(
    bot_stack: BotStack, back_office: BackOffice
) -> None:
    client = bot_stack.client
    starts_at = (datetime.now(UTC) + timedelta(minutes=70)).replace(second=0, microsecond=0)
    title = "Йога скоро"
    session = await one_off(back_office, starts_at, capacity=5, title=title)
    gleb = await new_person(client, "Глеб")
    await gleb.register("Глеб")
    card = await open_session(gleb, title, starts_at)
    booked = await gleb.press(card, "Записаться")
    assert "Вы записаны" in text_of(booked)
    confirm = await gleb.press(booked, "Отменить запись")
    refused = await gleb.press(confirm, "Да, отменить")
    assert "Отменить запись уже нельзя" in await gleb.alert()
    assert "за 2 ч" in await gleb.alert()
    del refused
    db = bot_stack.mongo()
    seat = await db.bookings.find_one({"session_id": session.id, "user_id": gleb.id})
    assert seat["status"] == "active"
    await assert_rendering_clean(client)
