"""Help, menu and unknown input; blocked users; per-user flood control; forged buttons."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.bookings import booking_id
from tests.e2e.conftest import BotStack, StackOptions
from tests.e2e.journeys.conftest import (
    BackOffice,
    assert_rendering_clean,
    buttons_of,
    forge_press,
    new_person,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_help_menu_and_unknown_input(bot_stack: BotStack) -> None:
    client = bot_stack.client
    anna = await new_person(client, "Анна")
    help_text = await anna.say("/help")
    assert "Команды: /start, /menu, /help" in text_of(help_text)
    guest_menu = await anna.say("/menu")
    assert "зарегистрируйтесь" in text_of(guest_menu)
    unknown = await anna.say("что тут происходит?")
    assert "не понял" in text_of(unknown)
    assert buttons_of(unknown)  # the answer offers the menu, not a dead end
    unknown_command = await anna.say("/weather")
    assert "не понял" in text_of(unknown_command)
    # Every button of the menu leads somewhere (no dead button), even for a guest.
    for label, data in buttons_of(guest_menu):
        fresh = await anna.say("/menu")
        before = await client.counters()
        await client.press_button(anna.id, fresh["message_id"], data)
        await client.wait_idle(20)
        after = await client.counters()
        assert after["callback_answers"] == before["callback_answers"] + 1, label
    commands = await client.commands()
    del commands  # publishing commands is a deploy step; the texts are checked in unit tests
    await assert_rendering_clean(client)


async def test_blocked_user_is_refused_politely(
    bot_stack: BotStack, back_office: BackOffice
) -> None:
    client = bot_stack.client
    anna = await new_person(client, "Анна")
    menu = await anna.register("Анна")
    admin = await new_person(client, "Админ")
    await back_office.make_staff(admin.id)
    await back_office.services.users.set_blocked(admin.id, anna.id, True)

    refused = await anna.say("/menu")
    assert "Доступ к боту ограничен" in text_of(refused)
    await anna.press_data(menu, buttons_of(menu)[0][1])
    assert "Доступ к боту ограничен" in await anna.alert()
    await assert_rendering_clean(client)


FLOOD = StackOptions(
    extra_env=(("LIMITS_USER_UPDATES_PER_WINDOW", "3"), ("LIMITS_USER_WINDOW_SECONDS", "30"))
)


@pytest.mark.parametrize("bot_stack", [FLOOD], indirect=True)
async def test_flooding_user_is_slowed_others_are_not(bot_stack: BotStack) -> None:
    client = bot_stack.client
    flooder = await new_person(client, "Флудер")
    calm = await new_person(client, "Спокойный")
    for index in range(12):
        await client.send_text(flooder.id, f"сообщение {index}")
    await client.send_text(calm.id, "привет")
    await client.wait_idle(60)

    flooder_sees = [text_of(m) for m in await flooder.bot_messages()]
    notices = [text for text in flooder_sees if "Слишком много запросов" in text]
    answered = [text for text in flooder_sees if "не понял" in text]
    assert len(notices) == 1, flooder_sees
    assert len(answered) == 3, flooder_sees
    calm_sees = [text_of(m) for m in await calm.bot_messages()]
    assert len(calm_sees) == 1
    assert "не понял" in calm_sees[0]
    await assert_rendering_clean(client)


async def test_forged_buttons_are_refused_and_change_nothing(
    bot_stack: BotStack, back_office: BackOffice
) -> None:
    client = bot_stack.client
    db = bot_stack.mongo()
    anna = await new_person(client, "Анна")
    menu = await anna.register("Анна")
    card = await anna.press(
        await anna.press(await anna.press(menu, "Каталог"), "Автозаводский"), "Олимп"
    )
    sports = await anna.press(card, "Подать заявку")
    await anna.press(await anna.press(sports, "Плавание"), "Без комментария")
    application = await db.applications.find_one({"user_id": anna.id})
    session = await db.sessions.find_one(
        {"complex_code": "fok-avtozavodsky-1", "starts_at": {"$gt": _now()}},
        sort=[("starts_at", 1)],
    )
    assert session is not None
    outcome = await back_office.services.bookings.book(anna.id, session["_id"])
    assert outcome.booked
    anna_booking = booking_id(session["_id"], anna.id)

    mallory = await new_person(client, "Мэллори")
    mallory_menu = await mallory.register("Мэллори")
    target = mallory_menu["message_id"]

    forged = [
        f"1|ap|y|{application['_id']}|p",  # cancel Anna's application
        f"1|ap|c|{application['_id']}",
        f"1|ap|v|{application['_id']}",
        f"1|ss|xy|{anna_booking}",  # cancel Anna's booking
        f"1|ss|ics|{anna_booking}",
        f"1|ss|oa|{anna_booking}",
        f"1|ss|rc|{anna_booking}",
    ]
    for data in forged:
        forge_press(bot_stack, mallory.id, target, data)
        await client.wait_idle(20)
        assert "Не найдено" in await mallory.alert(), data

    for data in ("0|ap|v|abc", "1|zz|q", "garbage", "1|ap|l|999999999"):
        forge_press(bot_stack, mallory.id, target, data)
        await client.wait_idle(20)
        assert "устарела" in await mallory.alert(), data

    assert (await db.applications.find_one({"_id": application["_id"]}))["status"] == "pending"
    assert (await db.bookings.find_one({"_id": anna_booking}))["status"] == "active"
    assert (await db.sessions.find_one({"_id": session["_id"]}))["booked"] == session["booked"] + 1
    # Mallory's chat shows nothing of Anna's.
    for message in await mallory.bot_messages():
        assert "Плавание" not in text_of(message)
    await assert_rendering_clean(client)


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(hours=5)


async def test_the_rendering_check_can_fail(bot_stack: BotStack, back_office: BackOffice) -> None:
    """The emulator refuses malformed HTML and over-long text, so the clean check after every
    journey (``rejected_400 == 0``) would catch a journey that sent either."""
    from telegram.error import BadRequest

    client = bot_stack.client
    anna = await new_person(client, "Анна")
    await anna.say("/start")
    await asyncio.sleep(1.1)  # past the per-chat budget the /start reply used
    with pytest.raises(BadRequest, match=r"(?i)can.t parse entities"):
        await back_office.bot.send_message(anna.id, "<b>unclosed", parse_mode="HTML")
    await asyncio.sleep(1.1)  # the per-chat budget, so the next refusal is about the length
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await back_office.bot.send_message(anna.id, "я" * 4097)
    with pytest.raises(AssertionError):
        await assert_rendering_clean(client)
