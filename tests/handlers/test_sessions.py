"""Sessions: the schedule by day (navigation, sport filter, the complex's time zone), booking,
the .ics file, my bookings, the waitlist with positions, seat offers taken, declined or expired,
the cancellation window, and reminders answered with «Приду» / «Отменить»."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.bookings import BookingStatus, booking_id
from bot.domain.reminders import ReminderKind, ReminderStatus
from bot.domain.sessions import Session
from bot.telegram.texts import t
from tests.handlers.harness import COMPLEXES, BotHarness, Person, Reply

B = BookingStatus
TITLE = "Йога <для всех> & друзей"
# Wednesday 25 November, 10:00 in Moscow: two days ahead of the harness's Monday noon.
STARTS = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


async def open_day(person: Person, days_ahead: int) -> Reply:
    districts = await person.press(await person.say("/menu"), "Каталог ФОК")
    card = await person.press(await person.press(districts, "Автозаводский"), "Олимп")
    day = await person.press(card, "Расписание")
    for _ in range(days_ahead):
        day = await person.press(day, "➡️")
    return day


async def open_session(person: Person, title: str = TITLE, days_ahead: int = 2) -> Reply:
    return await person.press(await open_day(person, days_ahead), title[:10])


async def booking_of(harness: BotHarness, session: Session, person: Person) -> BookingStatus:
    found = await harness.storage.bookings.get(booking_id(session.id, person.id))
    assert found is not None
    return found.status


async def test_the_schedule_by_day_with_navigation_and_sport_filter(harness: BotHarness) -> None:
    await harness.add_session(starts_at=STARTS, capacity=4, title=TITLE, booked=1)
    await harness.add_session(
        starts_at=STARTS + timedelta(hours=2), sport_code="swimming", capacity=2, title="", booked=2
    )
    today = harness.clock.now().replace(hour=8)  # 11:00 in Moscow: already over at noon
    await harness.add_session(starts_at=today, sport_code="swimming", title="Утро")
    anna = harness.person("Анна")

    first = await open_day(anna, 0)
    assert "📅 ФОК «Олимп»" in first.text
    assert "пн, 23.11.2026" in first.text
    assert "11:00 Плавание «Утро» — прошло" in first.text
    assert first.screen is not None
    assert not first.screen.has_button("⬅️")  # no going back before today
    assert not first.screen.data_starting("1|ss|v|")  # a past session cannot be opened
    assert first.screen.labels[-5:] == [
        "Плавание",
        "Йога",
        "Волейбол",
        "🔙 К ФОК",
        "🏠 Главное меню",
    ]

    wednesday = await anna.press(await anna.press(first, "➡️"), "➡️")
    assert "ср, 25.11.2026" in wednesday.text
    assert f"10:00 Йога «{TITLE}» — мест: 3 из 4" in wednesday.text
    assert "12:00 Плавание — мест нет" in wednesday.text
    assert wednesday.screen is not None
    assert len(wednesday.screen.data_starting("1|ss|v|")) == 2

    yoga = await anna.press(wednesday, "Йога", exact=True)
    assert "ср, 25.11.2026 · Йога" in yoga.text
    assert "Плавание —" not in yoga.text
    assert yoga.screen is not None
    assert yoga.screen.has_button("Все виды")
    everything = await anna.press(yoga, "Все виды")
    assert "12:00 Плавание — мест нет" in everything.text

    empty = await anna.press(everything, "➡️")
    assert "В этот день занятий нет." in empty.text
    last = empty
    for _ in range(10):
        last = await anna.press(last, "➡️")
    assert "вс, 06.12.2026" in last.text  # thirteen days ahead is the end
    assert last.screen is not None
    assert not last.screen.has_button("➡️")


async def test_times_are_shown_in_the_complexs_zone(harness: BotHarness) -> None:
    await harness.storage.catalog.upsert_complex(
        replace(COMPLEXES[0], timezone="Asia/Yekaterinburg")
    )
    await harness.add_session(starts_at=STARTS, capacity=3, title=TITLE)
    anna = harness.person("Анна")
    day = await open_day(anna, 2)
    assert f"12:00 Йога «{TITLE}»" in day.text  # 07:00 UTC is noon in Yekaterinburg
    card = await anna.press(day, "12:00")
    assert "ср, 25.11 12:00 (Asia/Yekaterinburg)" in card.text


async def test_book_a_seat_get_the_ics_and_see_it_in_my_bookings(harness: BotHarness) -> None:
    session = await harness.add_session(starts_at=STARTS, capacity=1, title=TITLE)
    anna = await harness.resident("Анна")
    card = await open_session(anna)
    assert f"🗓 {TITLE}" in card.text
    assert "🏢 ФОК «Олимп»" in card.text
    assert "🏠 ул. Лескова, 12" in card.text
    assert "🕐 ср, 25.11 10:00 (Europe/Moscow)" in card.text
    assert "Свободно мест: 1 из 1" in card.text
    assert "&lt;для всех&gt; &amp; друзей" in card.calls[0].params["text"]

    booked = await anna.press(card, "Записаться")
    assert booked.text.startswith("✅ Вы записаны!")
    assert "не позднее чем за 2 ч до начала" in booked.text
    assert booked.screen is not None
    assert booked.screen.labels == [
        "📆 В календарь (.ics)",
        "❌ Отменить запись",
        "🔙 К моим записям",
        "🏠 Главное меню",
    ]
    assert await booking_of(harness, session, anna) is B.ACTIVE
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 1
    reminders = sorted(harness.storage.reminders.all(), key=lambda r: r.due_at)
    assert [(r.kind, r.due_at) for r in reminders] == [
        (ReminderKind.DAY_BEFORE, STARTS - timedelta(hours=24)),
        (ReminderKind.HOURS_BEFORE, STARTS - timedelta(hours=2)),
    ]

    # A double tap: the second press finds the booking and, as the screen already shows it,
    # edits nothing.
    again = await anna.press_data(card, card.screen.data("Записаться"))  # type: ignore[union-attr]
    assert again.methods == ["answerCallbackQuery"]
    assert len(harness.storage.bookings.all()) == 1

    ics = await anna.press(booked, "календарь")
    (document,) = ics.calls_of("sendDocument")
    filename, content = document.files["document"]
    assert filename == "fok-20261125-1000.ics"
    calendar = content.decode()
    assert "BEGIN:VCALENDAR" in calendar
    assert "DTSTART" in calendar
    assert "END:VEVENT" in calendar
    assert ics.sent[0].text == f"📆 {TITLE}"
    assert ics.alert is None

    mine = await anna.press(await anna.say("/menu"), "Мои записи")
    assert "Мои записи" in mine.text
    assert "Всего: 1" in mine.text
    assert mine.screen is not None
    assert mine.screen.labels[0] == "ср, 25.11 10:00 · ФОК «Олимп»"
    booking_card = await anna.press(mine, "Олимп")
    assert "Запись — ✅ вы записаны" in booking_card.text
    # Opening the session again shows the booking, not a second «Записаться».
    reopened = await open_session(anna)
    assert "Запись — ✅ вы записаны" in reopened.text


async def test_my_bookings_are_paged_and_empty_says_where_to_book(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    empty = await anna.press(await anna.say("/menu"), "Мои записи")
    assert empty.text == t("ru", "bookings.empty")
    for day in range(7):
        session = await harness.add_session(
            starts_at=STARTS + timedelta(days=day), title=f"Йога {day}"
        )
        await harness.services.bookings.book(anna.id, session.id)
    mine = await anna.press(await anna.say("/menu"), "Мои записи")
    assert "Всего: 7" in mine.text
    assert mine.screen is not None
    assert len(mine.screen.data_starting("1|ss|bv|")) == 6
    rest = await anna.press(mine, "➡️")
    assert rest.screen is not None
    assert len(rest.screen.data_starting("1|ss|bv|")) == 1


async def test_waitlist_offer_expiry_moves_the_seat_on_and_the_old_offer_is_gone(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(starts_at=STARTS, capacity=1, title=TITLE)
    anna = await harness.resident("Анна")
    boris = await harness.resident("Борис")
    vera = await harness.resident("Вера")
    await anna.press(await open_session(anna), "Записаться")

    full = await open_session(boris)
    assert "Мест нет — можно встать в лист ожидания." in full.text
    waiting = await boris.press(full, "лист ожидания")
    assert "вы в листе ожидания, ваша позиция: 1" in waiting.text
    assert waiting.screen is not None
    assert waiting.screen.labels[0] == "❌ Выйти из очереди"
    waiting_vera = await vera.press(await open_session(vera), "лист ожидания")
    assert "ваша позиция: 2" in waiting_vera.text
    vera_card = await vera.press(await vera.press(await vera.say("/menu"), "Мои записи"), "Олимп")
    assert "Ваша позиция в очереди: 2" in vera_card.text

    # Anna cancels two days ahead (inside the window): Boris is offered the seat.
    booking_card = await anna.press(
        await anna.press(await anna.say("/menu"), "Мои записи"), "Олимп"
    )
    confirm = await anna.press(booking_card, "Отменить запись")
    assert "❓ Отменить запись?" in confirm.text
    cancelled = await anna.press(confirm, "Да, отменить")
    assert cancelled.text.startswith("✅ Запись отменена.")
    assert await booking_of(harness, session, anna) is B.CANCELLED
    assert await booking_of(harness, session, boris) is B.OFFERED
    assert {r.status for r in harness.storage.reminders.all()} == {ReminderStatus.CANCELLED}
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 1  # the seat is held for the offer

    assert (await harness.deliver_notices()).sent == 1
    offer = boris.last
    assert "🎉 Освободилось место!" in offer.text
    assert TITLE in offer.text
    assert "Место держится за вами до пн, 23.11 13:00" in offer.text  # hold: 60 minutes
    assert offer.labels == ["✅ Беру", "❌ Отказаться"]
    boris_card = await boris.press(
        await boris.press(await boris.say("/menu"), "Мои записи"), "Олимп"
    )
    assert "Запись — 🎉 предложено место" in boris_card.text

    # Boris lets the hold pass: the worker expires the offer and the seat goes to Vera.
    harness.clock.advance(timedelta(minutes=61))
    assert await harness.services.bookings.expire_offers() == 1
    assert (await harness.deliver_notices()).sent == 1
    too_late = await boris.press(offer, "Беру")
    assert too_late.alert == t("ru", "error.offer_unavailable")
    assert too_late.is_alert
    assert await booking_of(harness, session, boris) is B.EXPIRED

    taken = await vera.press(vera.last, "Беру")
    assert taken.text.startswith("✅ Место ваше! Вы записаны:")
    assert await booking_of(harness, session, vera) is B.ACTIVE
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 1
    assert await harness.storage.bookings.count_seat_holders(session.id) == 1
    vera_reminders = [r for r in harness.storage.reminders.all() if r.user_id == vera.id]
    assert {r.kind for r in vera_reminders} == {ReminderKind.DAY_BEFORE, ReminderKind.HOURS_BEFORE}


async def test_declined_offers_pass_the_seat_on_then_back_to_the_session(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(starts_at=STARTS, capacity=1, title=TITLE)
    anna, boris, vera = [await harness.resident(name) for name in ("Анна", "Борис", "Вера")]
    for person in (anna, boris, vera):
        await harness.services.bookings.book(person.id, session.id)
    await harness.services.bookings.cancel(anna.id, booking_id(session.id, anna.id))
    await harness.deliver_notices()

    offer = boris.last
    declined = await boris.press(offer, "Отказаться")
    assert declined.text == t("ru", "offer.declined")
    assert declined.screen is not None
    assert declined.screen.id == offer.id
    assert await booking_of(harness, session, boris) is B.DECLINED
    assert await booking_of(harness, session, vera) is B.OFFERED
    again = await boris.press_data(offer, offer.data("Беру"))  # «Беру» from another copy
    assert again.alert == t("ru", "error.offer_unavailable")

    await harness.deliver_notices()
    await vera.press(vera.last, "Отказаться")
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 0  # nobody waits: the seat is free again
    fresh = await harness.resident("Глеб")
    assert "Свободно мест: 1 из 1" in (await open_session(fresh)).text


async def test_leaving_the_waitlist(harness: BotHarness) -> None:
    session = await harness.add_session(starts_at=STARTS, capacity=1, title=TITLE, booked=1)
    vera = await harness.resident("Вера")
    waiting = await vera.press(await open_session(vera), "лист ожидания")
    confirm = await vera.press(waiting, "Выйти из очереди")
    left = await vera.press(confirm, "Да, отменить")
    assert left.text.startswith("✅ Вы вышли из листа ожидания.")
    assert await booking_of(harness, session, vera) is B.CANCELLED
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 1


async def test_cancelling_inside_the_window_is_refused_and_changes_nothing(
    harness: BotHarness,
) -> None:
    starts = harness.clock.now() + timedelta(minutes=70)  # Olimp allows cancelling 2 h ahead
    session = await harness.add_session(starts_at=starts, capacity=5, title="Йога скоро")
    gleb = await harness.resident("Глеб")
    booked = await gleb.press(await open_session(gleb, "Йога скоро", days_ahead=0), "Записаться")
    assert "Вы записаны" in booked.text
    confirm = await gleb.press(booked, "Отменить запись")
    refused = await gleb.press(confirm, "Да, отменить")
    assert refused.alert == t("ru", "error.cancellation_window_closed", hours=2)
    assert refused.is_alert
    assert refused.methods == ["answerCallbackQuery"]
    assert await booking_of(harness, session, gleb) is B.ACTIVE
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 1


async def test_a_started_session_cannot_be_booked(harness: BotHarness) -> None:
    session = await harness.add_session(starts_at=STARTS, capacity=5, title=TITLE)
    anna = await harness.resident("Анна")
    card = await open_session(anna)
    harness.clock.set(STARTS + timedelta(minutes=1))
    refused = await anna.press(card, "Записаться")
    assert refused.alert == t("ru", "error.session_unavailable")
    assert harness.storage.bookings.all() == []
    del session


async def test_a_reminder_answered_with_i_will_come(harness: BotHarness) -> None:
    session = await harness.add_session(starts_at=STARTS, capacity=5, title=TITLE)
    vera = await harness.resident("Вера")
    await vera.press(await open_session(vera), "Записаться")
    assert (await harness.deliver_reminders()).sent == 0  # nothing is due yet

    harness.clock.set(STARTS - timedelta(hours=24) + timedelta(minutes=1))
    assert (await harness.deliver_reminders()).sent == 1
    reminder = vera.last
    assert "⏰ Напоминание: завтра занятие" in reminder.text
    assert TITLE in reminder.text
    assert reminder.labels == ["✅ Приду", "❌ Отменить"]
    coming = await vera.press(reminder, "Приду")
    assert coming.text.startswith("✅ Отлично, ждём вас!")
    stored = await harness.storage.bookings.get(booking_id(session.id, vera.id))
    assert stored is not None
    assert stored.confirmed_at == harness.clock.now()
    card = await vera.press(await vera.press(await vera.say("/menu"), "Мои записи"), "Олимп")
    assert "✅ Вы подтвердили, что придёте." in card.text

    harness.clock.set(STARTS - timedelta(hours=2) + timedelta(minutes=1))
    assert (await harness.deliver_reminders()).sent == 1
    assert "⏰ Напоминание: скоро занятие" in vera.last.text
    sent = {r.kind: r.status for r in harness.storage.reminders.all()}
    assert sent == {
        ReminderKind.DAY_BEFORE: ReminderStatus.SENT,
        ReminderKind.HOURS_BEFORE: ReminderStatus.SENT,
    }


async def test_a_reminder_answered_with_cancel(harness: BotHarness) -> None:
    session = await harness.add_session(starts_at=STARTS, capacity=5, title=TITLE)
    vera = await harness.resident("Вера")
    await harness.services.bookings.book(vera.id, session.id)
    harness.clock.set(STARTS - timedelta(hours=24) + timedelta(minutes=1))
    await harness.deliver_reminders()
    confirm = await vera.press(vera.last, "Отменить")
    assert "❓ Отменить запись?" in confirm.text
    cancelled = await vera.press(confirm, "Да, отменить")
    assert cancelled.text.startswith("✅ Запись отменена.")
    assert await booking_of(harness, session, vera) is B.CANCELLED
    harness.clock.set(STARTS - timedelta(hours=2) + timedelta(minutes=1))
    report = await harness.deliver_reminders()
    assert report.sent == 0  # the hours-before reminder was cancelled with the booking
    yes = confirm.screen.data("Да, отменить")  # type: ignore[union-attr]
    # The old confirmation pressed again (as a redelivered press arrives): their own cancel,
    # answered alike, and nothing reopened.
    again = await vera.press_data(confirm, yes)
    assert again.text.startswith("✅ Запись отменена.")
    assert await booking_of(harness, session, vera) is B.CANCELLED
    assert {r.status for r in harness.storage.reminders.all()} <= {
        ReminderStatus.SENT,
        ReminderStatus.CANCELLED,
    }


async def test_reminders_are_not_sent_to_someone_who_turned_them_off(harness: BotHarness) -> None:
    session = await harness.add_session(starts_at=STARTS, capacity=5, title=TITLE)
    vera = await harness.resident("Вера")
    await harness.services.bookings.book(vera.id, session.id)
    await vera.press(await vera.press(await vera.say("/menu"), "Профиль"), "Напоминания")
    before = len(vera.messages())
    harness.clock.set(STARTS - timedelta(hours=24) + timedelta(minutes=1))
    report = await harness.deliver_reminders()
    assert (report.sent, report.skipped) == (0, 1)
    assert len(vera.messages()) == before
