"""What holds for every update: blocked users are refused, a flooding user is slowed with one
notice while others are answered, and forged or stale buttons are refused and change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.bookings import BookingStatus, booking_id
from bot.domain.users import Role
from bot.telegram.texts import t
from tests.handlers.conftest import MakeHarness
from tests.handlers.harness import OLIMP, BotHarness

BLOCKED = t("ru", "refuse.blocked")
FLOOD = t("ru", "refuse.flood")
NOT_FOUND = t("ru", "error.not_found")
OUTDATED = t("ru", "fallback.outdated")


async def test_a_blocked_user_is_refused_on_every_update(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    menu = await anna.say("/menu")
    admin = await harness.resident("Админ")
    await harness.services.users.set_role(None, admin.id, Role.ADMIN)
    await harness.services.users.set_blocked(admin.id, anna.id, True)

    for reply in (
        await anna.say("/menu"),
        await anna.say("/start"),
        await anna.say("привет"),
        await anna.share_contact(),
        await anna.share_location(56.2, 43.8),
    ):
        assert reply.text == BLOCKED
        assert reply.methods == ["sendMessage"]
    pressed = await anna.press(menu, "Каталог ФОК")
    assert pressed.alert == BLOCKED
    assert pressed.is_alert
    assert pressed.methods == ["answerCallbackQuery"]
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert (stored.blocked, stored.name) == (True, "Анна")

    await harness.services.users.set_blocked(admin.id, anna.id, False)
    assert "Добрый день, Анна!" in (await anna.say("/menu")).text


async def test_a_flooding_user_gets_one_notice_and_others_are_answered(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(flood_limit=3, flood_window_s=30.0)
    flooder = harness.person("Флудер")
    calm = harness.person("Спокойный")
    with harness.burst():
        replies = [await flooder.say(f"сообщение {index}") for index in range(12)]
        calm_reply = await calm.say("привет")
    texts = [reply.text if reply.screen else None for reply in replies]
    assert texts[:3] == [t("ru", "fallback.unknown")] * 3
    assert texts[3] == FLOOD
    assert texts[4:] == [None] * 8  # silence after the one notice
    assert calm_reply.text == t("ru", "fallback.unknown")

    with harness.burst():
        pressed = await flooder.press(replies[0], "Каталог ФОК")  # still throttled
    assert pressed.methods == ["answerCallbackQuery"]  # the button stops spinning
    assert pressed.alert is None

    harness.seconds.advance(60)  # the budget refills
    harness.clock.advance(timedelta(minutes=1))  # and the notice no longer stands
    assert (await flooder.say("снова я")).text == t("ru", "fallback.unknown")


async def test_forged_buttons_are_refused_and_change_nothing(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    application = (await harness.services.applications.submit(anna.id, OLIMP, "yoga")).application
    session = await harness.add_session(capacity=3)
    assert (await harness.services.bookings.book(anna.id, session.id)).booked
    anna_booking = booking_id(session.id, anna.id)

    mallory = await harness.resident("Мэллори")
    target = await mallory.say("/menu")
    for data in (
        f"1|ap|v|{application.id}",
        f"1|ap|c|{application.id}",
        f"1|ap|y|{application.id}|p",
        f"1|ss|bv|{anna_booking}",
        f"1|ss|x|{anna_booking}",
        f"1|ss|xy|{anna_booking}",
        f"1|ss|ics|{anna_booking}",
        f"1|ss|oa|{anna_booking}",
        f"1|ss|od|{anna_booking}",
        f"1|ss|rc|{anna_booking}",
        "1|ct|c|fok-closed",
        "1|ct|dc|closed|0",
    ):
        reply = await mallory.press_data(target, data)
        assert reply.alert == NOT_FOUND, data
        assert reply.is_alert, data
        assert reply.methods == ["answerCallbackQuery"], data
    for data in (
        "0|ap|v|abc",
        "1|zz|q",
        "garbage",
        "",
        "1|ap|l|999999999",
        "1|ss|bv|not-a-booking-id",
        "1|ss|b|" + "x" * 24,
        f"1|ap|sp|{OLIMP}|zzzz",
        "1|ss|d|fok-olimp|!!!|-",
        "1|ct|nope",
        "1|ap|v",
    ):
        reply = await mallory.press_data(target, data)
        assert reply.alert == OUTDATED, data
        assert reply.methods == ["answerCallbackQuery"], data

    stored_application = await harness.storage.applications.get(application.id)
    assert stored_application == application
    stored_booking = await harness.storage.bookings.get(anna_booking)
    assert stored_booking is not None
    assert stored_booking.status is BookingStatus.ACTIVE
    stored_session = await harness.storage.sessions.get(session.id)
    assert stored_session is not None
    assert stored_session.booked == 1
    assert harness.storage.outbox.entries() == []
    for message in mallory.messages():  # Mallory's chat shows nothing of Anna's
        assert "Йога" not in message.text


async def test_a_stale_page_button_shows_the_last_page(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    await harness.services.applications.submit(anna.id, OLIMP, "yoga")
    mine = await anna.press(await anna.say("/menu"), "Мои заявки")
    stale = await anna.press_data(mine, "1|ap|l|7")  # drawn when there were more pages
    assert stale.methods == ["answerCallbackQuery"]  # the last page is what is shown already
    districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    past_the_end = await anna.press_data(districts, "1|ct|d|9")
    assert past_the_end.screen is not None
    assert "📍 Советский" in past_the_end.screen.labels


async def test_a_button_that_fails_unexpectedly_gets_the_apology(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = await harness.resident("Анна")
    menu = await anna.say("/menu")

    async def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in the catalog")

    monkeypatch.setattr(harness.services.catalog, "districts", broken)
    pressed = await anna.press(menu, "Каталог ФОК", expect_errors=True)
    assert pressed.alert == t("ru", "refuse.internal")
    assert pressed.is_alert
    assert [call.error for call in pressed.calls] == [None]
