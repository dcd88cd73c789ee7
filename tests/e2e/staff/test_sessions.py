"""The staff side of sessions through the emulator and a real bot process (SecantusDB, Redis
Cluster): a manager sets a session up in /admin, residents book it and see their check-in code,
the manager marks one present by that code and the other a no-show, and the no-show rule
(here one no-show is enough: NO_SHOW_LIMIT=1) refuses that resident's next booking with the date
it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.i18n import LocalizedText
from bot.domain.users import Role
from telegram_emulator.client import Message
from tests.e2e.conftest import BotStack, StackOptions
from tests.e2e.journeys.conftest import (
    BackOffice,
    Person,
    assert_rendering_clean,
    buttons_of,
    new_person,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

COMPLEX = "fok-avtozavodsky-1"  # ФОК «Олимп», Europe/Moscow
MOSCOW = ZoneInfo("Europe/Moscow")
NEXT_TITLE = "Йога на завтра"


@pytest.fixture
async def office(
    bot_stack: BotStack, redis_cluster_nodes: list[tuple[str, int]]
) -> AsyncIterator[BackOffice]:
    async with BackOffice(bot_stack, redis_cluster_nodes) as back_office:
        yield back_office


async def open_day(person: Person, starts_at: datetime) -> Message:
    districts = await person.press(await person.say("/menu"), "Каталог")
    card = await person.press(await person.press(districts, "Автозаводский"), "Олимп")
    day = await person.press(card, "Расписание")
    today = datetime.now(UTC).astimezone(MOSCOW).date()
    for _ in range((starts_at.astimezone(MOSCOW).date() - today).days):
        day = await person.press(day, "➡️")
    return day


def session_button(message: Message, session_id: str) -> str:
    for _, data in buttons_of(message):
        if session_id in data:
            return data
    raise AssertionError(f"no button of {session_id}: {buttons_of(message)}")


@pytest.mark.parametrize(
    "bot_stack", [StackOptions(extra_env=(("NO_SHOW_LIMIT", "1"),))], indirect=True
)
async def test_set_up_book_check_in_by_code_and_the_no_show_rule(
    bot_stack: BotStack, office: BackOffice
) -> None:
    client = bot_stack.client
    db = bot_stack.mongo()
    olga = await new_person(client, "Ольга")
    await office.services.users.set_role(None, olga.id, Role.MANAGER, frozenset({COMPLEX}))

    # The manager sets a one-off session up, starting in 40 minutes (Moscow time).
    starts_local = (datetime.now(UTC) + timedelta(minutes=40)).astimezone(MOSCOW)
    panel = await olga.say("/admin")
    assert "Панель администратора" in text_of(panel)
    complexes = await olga.press(panel, "Занятия")
    schedule = await olga.press(complexes, "Олимп")
    sports = await olga.press(schedule, "Разовое занятие")
    await olga.press(sports, "Йога")
    wrong = await olga.say("завтра")
    assert "Не понял дату" in text_of(wrong)
    await olga.say(f"{starts_local:%d.%m}")
    await olga.say(f"{starts_local:%H:%M}")
    capacity = await olga.press(await olga.last(), "60")
    assert "Сколько мест" in text_of(capacity)
    confirm = await olga.say("5")
    created = await olga.press(confirm, "Создать")
    assert "Занятие создано" in text_of(created)
    entry = await db.audit_log.find_one({"action": "session.create", "actor_id": olga.id})
    assert entry is not None
    session_id = entry["target_id"]

    # Two residents book it; each booking card shows a check-in code.
    codes = {}
    residents = {}
    for name in ("Анна", "Борис"):
        person = await new_person(client, name)
        await person.register(name)
        day = await open_day(person, starts_local)
        card = await person.press_data(day, session_button(day, session_id))
        booked = await person.press(card, "Записаться")
        assert "Вы записаны" in text_of(booked)
        assert "Код для отметки на входе" in text_of(booked)
        stored = await db.bookings.find_one({"session_id": session_id, "user_id": person.id})
        assert stored["status"] == "active"
        assert stored["checkin_code"] in text_of(booked)
        codes[name] = stored["checkin_code"]
        residents[name] = person
    assert codes["Анна"] != codes["Борис"]

    # At the door: the manager types Анна's code (lower case, as typed on a phone).
    schedule = await olga.press(await olga.press(await olga.say("/admin"), "Занятия"), "Олимп")
    roster = await olga.press_data(schedule, session_button(schedule, session_id))
    assert "Записано: 2 из 5" in text_of(roster)
    asked = await olga.press(roster, "Ввести код")
    assert "Введите код" in text_of(asked)
    checked = await olga.say(codes["Анна"].lower())
    assert "Анна — отмечен(а): пришёл(ла)" in text_of(checked)
    unknown = await olga.say("XXXXXX" if codes["Борис"] != "XXXXXX" else "YYYYYY")
    assert "не найден среди записей" in text_of(unknown)
    done = await olga.press(unknown, "Готово")
    assert "✅ Анна" in text_of(done)
    anna_booking = await db.bookings.find_one(
        {"session_id": session_id, "user_id": residents["Анна"].id}
    )
    assert (anna_booking["attendance"], anna_booking["attendance_by"]) == ("attended", olga.id)

    # The session has begun (its start moved back, as time would): Борис did not come.
    begun = datetime.now(UTC) - timedelta(minutes=5)
    await db.sessions.update_one(
        {"_id": session_id}, {"$set": {"starts_at": begun, "ends_at": begun + timedelta(hours=1)}}
    )
    schedule = await olga.press(done, "К расписанию")
    refreshed = await olga.press_data(schedule, session_button(schedule, session_id))
    labels = [label for label, _ in buttons_of(refreshed)]
    no_show = buttons_of(refreshed)[labels.index("✅ Борис") + 1]
    assert no_show[0] == "🚫 Не пришёл"
    marked = await olga.press_data(refreshed, no_show[1])
    assert "🚫 Борис" in text_of(marked)
    boris_booking = await db.bookings.find_one(
        {"session_id": session_id, "user_id": residents["Борис"].id}
    )
    assert boris_booking["attendance"] == "no_show"

    # One no-show is the limit here: Борис's next booking is refused with the date it ends.
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).astimezone(MOSCOW).date()
    next_starts = datetime.combine(tomorrow, time(11, 0), tzinfo=MOSCOW).astimezone(UTC)
    later = await office.services.schedule.create_one_off(
        None,
        complex_code=COMPLEX,
        sport_code="yoga",
        starts_at=next_starts,
        duration_minutes=60,
        capacity=10,
        title=LocalizedText({"ru": NEXT_TITLE, "en": NEXT_TITLE}),
    )
    boris = residents["Борис"]
    day = await open_day(boris, next_starts)
    card = await boris.press_data(day, session_button(day, later.id))
    await boris.press(card, "Записаться")
    until = (boris_booking["attendance_at"] + timedelta(days=14)).astimezone(MOSCOW)
    alert = await boris.alert()
    assert "Запись на занятия недоступна до" in alert
    assert f"{until:%d.%m.%Y}" in alert
    assert await db.bookings.find_one({"session_id": later.id, "user_id": boris.id}) is None
    # Анна came: she books as usual.
    anna = residents["Анна"]
    day = await open_day(anna, next_starts)
    card = await anna.press_data(day, session_button(day, later.id))
    assert "Вы записаны" in text_of(await anna.press(card, "Записаться"))
    await assert_rendering_clean(client)
