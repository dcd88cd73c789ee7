"""Changing a session: the number of seats (never below those taken: refused with their count;
new seats offered to the waitlist in queue order) and cancelling it with a reason that everyone
booked or waiting is told once, with their reminders cancelled."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.bookings import BookingStatus, booking_id
from bot.domain.reminders import ReminderStatus
from bot.domain.sessions import Session
from bot.domain.users import Role
from tests.handlers.harness import OLIMP, BotHarness, Person
from tests.handlers.staff.conftest import make_staff
from tests.handlers.staff.test_sessions_attendance import book, open_session_card

B = BookingStatus


async def status_of(harness: BotHarness, session: Session, person: Person) -> BookingStatus:
    booking = await harness.storage.bookings.get(booking_id(session.id, person.id))
    assert booking is not None
    return booking.status


async def test_seats_cannot_go_below_those_taken_and_new_ones_go_to_the_waitlist(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(capacity=2, title="")
    anna, boris, vera, gleb = await book(harness, session, "Анна", "Борис", "Вера", "Глеб")
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    roster = await open_session_card(olga, session)
    asked = await olga.press(roster, "Изменить число мест")
    assert "Сейчас мест: 2, занято: 2, в листе ожидания: 2." in asked.text

    lower = await olga.say("1")
    assert lower.text == (
        "❌ Нельзя сделать меньше мест, чем уже занято (2). Введите 2 или больше."
    )
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert (stored.capacity, stored.booked) == (2, 2)  # nothing changed, nobody dropped
    assert (await olga.say("много")).text.startswith("❌ Введите число мест цифрами")

    raised = await olga.say("3")
    assert raised.text.startswith("✅ Число мест: 3.")
    assert "👥 Записано: 3 из 3 · ⏳ в листе ожидания: 1" in raised.text
    assert "🎉 Вера" in raised.text  # the seat is held for the head of the queue
    assert await status_of(harness, session, vera) is B.OFFERED
    assert await status_of(harness, session, gleb) is B.WAITLISTED
    await harness.deliver_notices()
    assert "🎉 Освободилось место!" in vera.last.text
    assert vera.last.has_button("Беру")
    assert gleb.messages() == []
    [entry] = [e for e in harness.storage.audit.all() if e.action == "session.capacity"]
    assert (entry.actor_id, entry.details["before"], entry.details["after"]) == (
        olga.id,
        {"capacity": 2, "booked": 2},
        {"capacity": 3, "booked": 2},  # the new seat was offered right after
    )
    assert await status_of(harness, session, anna) is B.ACTIVE  # never touched
    assert await status_of(harness, session, boris) is B.ACTIVE


async def test_a_cancelled_session_is_told_once_to_everyone_and_its_reminders_are_not_sent(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(capacity=2, title="Йога <для всех>")
    anna, boris, vera = await book(harness, session, "Анна", "Борис", "Вера")
    outsider = await harness.resident("Глеб")  # booked elsewhere: told nothing
    elsewhere = await harness.add_session(capacity=2, title="")
    await harness.services.bookings.book(outsider.id, elsewhere.id)
    assert [r.status for r in harness.storage.reminders.all()].count(ReminderStatus.PENDING) == 6

    ivan = await make_staff(harness, "Иван", Role.ADMIN)
    roster = await open_session_card(ivan, session)
    asked = await ivan.press(roster, "Отменить занятие")
    assert "её получат все записанные и ожидающие (3)" in asked.text
    short = await ivan.say("ок")
    assert short.text.startswith("❌ Напишите причину чуть подробнее")
    confirm = await ivan.say("Авария   водопровода <срочно>")
    assert "Причина: Авария водопровода <срочно>" in confirm.text
    assert "Уведомление получат: 3." in confirm.text
    assert await status_of(harness, session, anna) is B.ACTIVE  # nothing until confirmed
    assert await status_of(harness, session, vera) is B.WAITLISTED

    done = await ivan.press(confirm, "Да, отменить")
    assert done.text.startswith("✅ Занятие отменено. Уведомление получат: 3.")
    assert "❌ Занятие отменено. Причина: Авария водопровода <срочно>" in done.text
    assert done.screen is not None
    assert not done.screen.has_button("Отменить занятие")
    for person in (anna, boris, vera):
        assert await status_of(harness, session, person) is B.CANCELLED
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    assert (stored.cancelled, stored.cancel_reason, stored.booked) == (
        True,
        "Авария водопровода <срочно>",
        0,
    )
    reminders = {r.booking_id: r.status for r in harness.storage.reminders.all()}
    for person in (anna, boris):
        assert reminders[booking_id(session.id, person.id)] is ReminderStatus.CANCELLED
    assert reminders[booking_id(elsewhere.id, outsider.id)] is ReminderStatus.PENDING

    report = await harness.deliver_notices()
    assert report.sent == 3
    for person in (anna, boris, vera):
        [notice] = person.messages()
        assert notice.text.startswith("❌ Занятие отменено")
        assert "Йога <для всех>" in notice.text
        assert "Причина: Авария водопровода <срочно>" in notice.text
        assert notice.labels == ["🗓 Мои записи"]
    assert outsider.messages() == []
    again = await harness.deliver_notices()
    assert again.sent == 0  # once

    harness.clock.advance(timedelta(days=1, minutes=1))  # the day-before reminders are due
    reminders_sent = await harness.deliver_reminders()
    assert reminders_sent.sent == 1  # only the other session's
    assert "⏰" in outsider.last.text
    assert [len(p.messages()) for p in (anna, boris)] == [1, 1]  # the notice alone
    [audit] = [e for e in harness.storage.audit.all() if e.action == "session.cancel"]
    assert audit.details["notified"] == 3
    assert audit.details["before"]["cancelled"] is False
    assert audit.details["after"]["cancel_reason"] == "Авария водопровода <срочно>"


async def test_a_cancelled_session_leaves_the_schedule_and_cannot_be_cancelled_twice(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(title="")
    olga = await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP}))
    roster = await open_session_card(olga, session)
    await olga.press(roster, "Отменить занятие")
    confirm = await olga.say("Зал закрыт")
    done = await olga.press(confirm, "Да, отменить")
    assert "Уведомление получат: 0." in done.text
    stale = await olga.press_data(done, f"1|sse|cy|{session.id}")
    assert stale.alert == "Эта кнопка устарела. Откройте раздел заново."
    panel = await olga.say("/admin")
    schedule = await olga.press(await olga.press(panel, "Занятия"), "Олимп")
    assert "❌ ср, 25.11 12:00 Йога — отменено" in schedule.text
    anna = await harness.resident("Анна")
    districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    card = await anna.press(await anna.press(districts, "Автозаводский"), "Олимп")
    day = await anna.press(await anna.press(await anna.press(card, "Расписание"), "➡️"), "➡️")
    assert "В этот день занятий нет." in day.text
