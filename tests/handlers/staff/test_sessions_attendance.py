"""Attendance: who is booked and who waits, marking each person, «✅ Все пришли», the check-in
code a resident shows on their booking card, when marks may be made, and the no-show rule that
stops a resident booking (told with the date it ends)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.bookings import Attendance, BookingStatus, booking_id
from bot.domain.sessions import Session
from bot.domain.users import Role
from tests.handlers.harness import OLIMP, BotHarness, Person, Reply
from tests.handlers.staff.conftest import make_staff

B = BookingStatus


async def open_session_card(staff: Person, session: Session) -> Reply:
    panel = await staff.say("/admin")
    schedule = await staff.press(await staff.press(panel, "Занятия"), "Олимп")
    assert schedule.screen is not None
    [data] = [d for d in schedule.screen.data_starting("1|sse|v|") if session.id in d]
    return await staff.press_data(schedule, data)


async def book(harness: BotHarness, session: Session, *names: str) -> list[Person]:
    people = []
    for name in names:
        person = await harness.resident(name)
        await harness.services.bookings.book(person.id, session.id)
        people.append(person)
    return people


async def code_of(harness: BotHarness, session: Session, person: Person) -> str:
    booking = await harness.storage.bookings.get(booking_id(session.id, person.id))
    assert booking is not None
    assert booking.checkin_code is not None
    return booking.checkin_code


async def attendance_of(harness: BotHarness, session: Session, person: Person) -> Attendance | None:
    booking = await harness.storage.bookings.get(booking_id(session.id, person.id))
    assert booking is not None
    return booking.attendance


async def test_the_resident_sees_a_check_in_code_and_staff_type_it_at_the_door(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(
        starts_at=harness.clock.now() + timedelta(minutes=40), capacity=3, title=""
    )
    anna, boris, vera = await book(harness, session, "Анна", "Борис", "Вера")
    dina = (await book(harness, session, "Дина"))[0]  # full: the waitlist
    codes = {await code_of(harness, session, p) for p in (anna, boris, vera)}
    assert len(codes) == 3  # unique in the session

    # The resident's booking card shows the code.
    mine = await anna.press(await anna.say("/menu"), "Мои записи")
    card = await anna.press(mine, "Олимп")
    code = await code_of(harness, session, anna)
    assert f"🎫 Код для отметки на входе: {code}" in card.text
    assert f"<code>{code}</code>" in (card.screen.html if card.screen else "")

    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    roster = await open_session_card(olga, session)
    assert "👥 Записано: 3 из 3 · ⏳ в листе ожидания: 1" in roster.text
    assert "1. ▫️ Анна · +79161234567" in roster.text
    assert "Отмечено: пришли 0, не пришли 0 из 3." in roster.text
    assert roster.screen is not None
    assert not roster.screen.has_button("Не пришёл")  # not begun yet: no-shows cannot be marked
    assert roster.screen.has_button("⏳ Лист ожидания (1)")

    asked = await olga.press(roster, "Ввести код")
    assert "Введите код с карточки записи участника" in asked.text
    # Typed loosely: lower case, a dash, Cyrillic look-alikes from a Russian keyboard.
    loose = f"{code[:3]}-{code[3:]}".lower()
    marked = await olga.say(loose)
    assert marked.text.startswith("✅ Анна — отмечен(а): пришёл(ла).")
    assert await attendance_of(harness, session, anna) is Attendance.ATTENDED
    wrong = await olga.say("ACDEFH" if code != "ACDEFH" else "ACDEFJ")
    assert "❌ Код" in wrong.text
    assert "не найден среди записей на это занятие" in wrong.text
    malformed = await olga.say("12")
    assert malformed.text.startswith("❌ Код — 6 знаков")
    assert "Введите следующий код" in malformed.text
    done = await olga.press(malformed, "Готово")
    assert "1. ✅ Анна" in done.text
    assert "Отмечено: пришли 1, не пришли 0 из 3." in done.text

    waitlist = await olga.press(done, "Лист ожидания")
    assert "1. Дина · +79161234567" in waitlist.text
    assert await attendance_of(harness, session, dina) is None  # waiting, not marked

    [entry] = [e for e in harness.storage.audit.all() if e.action == "booking.attendance"]
    assert (entry.actor_id, entry.target_id) == (olga.id, booking_id(session.id, anna.id))
    assert (entry.details["before"], entry.details["after"]) == (
        {"attendance": None},
        {"attendance": "attended"},
    )


async def test_marks_per_person_and_everyone_came_once_the_session_has_begun(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(
        starts_at=harness.clock.now() + timedelta(minutes=30), capacity=5, title=""
    )
    anna, boris, vera = await book(harness, session, "Анна", "Борис", "Вера")
    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    harness.clock.advance(timedelta(minutes=45))  # under way
    roster = await open_session_card(ivan, session)
    assert roster.screen is not None
    assert roster.screen.labels[:2] == ["✅ Анна", "🚫 Не пришёл"]

    no_show = await ivan.press_data(roster, roster.screen.buttons[3][1])  # Борис: «Не пришёл»
    assert "2. 🚫 Борис" in no_show.text
    everyone = await ivan.press(no_show, "Все пришли")
    assert everyone.alert == "Отмечены пришедшими: 2"
    assert "Отмечено: пришли 2, не пришли 1 из 3." in everyone.text
    assert await attendance_of(harness, session, boris) is Attendance.NO_SHOW  # kept
    assert await attendance_of(harness, session, vera) is Attendance.ATTENDED
    # A correction: Борис came after all.
    corrected = await ivan.press(everyone, "✅ Борис")
    assert "2. ✅ Борис" in corrected.text
    assert await attendance_of(harness, session, boris) is Attendance.ATTENDED
    assert await attendance_of(harness, session, anna) is Attendance.ATTENDED


async def test_attendance_cannot_be_marked_too_early(harness: BotHarness) -> None:
    session = await harness.add_session(
        starts_at=harness.clock.now() + timedelta(hours=3), capacity=5, title=""
    )
    [anna] = await book(harness, session, "Анна")
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    roster = await open_session_card(olga, session)
    assert "Отмечать посещение можно с пн, 23.11 14:00 (за час до начала)." in roster.text
    assert roster.screen is not None
    assert not roster.screen.has_button("Ввести код")
    bid = booking_id(session.id, anna.id)
    forged = await olga.press_data(roster, f"1|sse|a|{bid}|n|0")
    assert (
        forged.alert == "⏳ Рано: приход отмечают с часа до начала, неявку — после начала занятия."
    )
    assert await attendance_of(harness, session, anna) is None


async def test_three_no_shows_stop_booking_until_a_date_the_resident_is_told(
    harness: BotHarness,
) -> None:
    anna = await harness.resident("Анна")
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    missed = []
    for hours in (1, 2, 3):
        session = await harness.add_session(
            starts_at=harness.clock.now() + timedelta(hours=hours), title=""
        )
        await harness.services.bookings.book(anna.id, session.id)
        missed.append(session)
    harness.clock.advance(timedelta(hours=4))  # all three are under way or over
    for session in missed:
        await harness.services.bookings.mark_attendance(
            olga.id, booking_id(session.id, anna.id), Attendance.NO_SHOW
        )
    # Monday 23 November 13:00 UTC + 14 days: Monday 7 December.
    next_one = await harness.add_session(starts_at=harness.clock.now() + timedelta(days=2))
    card = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    card = await anna.press(await anna.press(card, "Автозаводский"), "Олимп")
    day = await anna.press(await anna.press(await anna.press(card, "Расписание"), "➡️"), "➡️")
    session_card = await anna.press(day, "Йога <для")
    refused = await anna.press(session_card, "Записаться")
    assert refused.alert == (
        "⛔ Запись на занятия недоступна до пн, 07.12.2026: вы несколько раз не пришли на "
        "занятия, на которые были записаны. Если это ошибка, обратитесь в ФОК."
    )
    assert refused.is_alert
    assert await harness.storage.bookings.get(booking_id(next_one.id, anna.id)) is None

    # A correction by staff lifts the block at once.
    await harness.services.bookings.mark_attendance(
        olga.id, booking_id(missed[0].id, anna.id), Attendance.ATTENDED
    )
    booked = await anna.press(session_card, "Записаться")
    assert booked.text.startswith("✅ Вы записаны!")
    assert "🎫 Код для отметки на входе:" in booked.text


async def test_the_block_ends_on_the_date_it_was_told(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    for _ in range(3):
        session = await harness.add_session(starts_at=harness.clock.now() + timedelta(hours=1))
        await harness.services.bookings.book(anna.id, session.id)
        harness.clock.advance(timedelta(hours=2))
        await harness.services.bookings.mark_attendance(
            olga.id, booking_id(session.id, anna.id), Attendance.NO_SHOW
        )
    until = await harness.services.bookings.blocked_until(anna.id)
    assert until == harness.clock.now() + timedelta(days=14)
    harness.clock.advance(timedelta(days=14))
    assert await harness.services.bookings.blocked_until(anna.id) is None
    later = await harness.add_session(starts_at=harness.clock.now() + timedelta(days=1))
    outcome = await harness.services.bookings.book(anna.id, later.id)
    assert outcome.booked
