"""Registration: name, own phone (or skip), consent, the main menu; error paths included."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BotStack
from tests.e2e.journeys.conftest import (
    OWN_PHONE,
    assert_rendering_clean,
    buttons_of,
    new_person,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


async def test_registration_with_own_phone_reaches_the_menu(bot_stack: BotStack) -> None:
    client = bot_stack.client
    anna = await new_person(client)
    greeting = await anna.say("/start")
    assert "как к вам обращаться" in text_of(greeting)

    too_short = await anna.say("А")
    assert "от 2 до 64" in text_of(too_short)

    ask_phone = await anna.say("<b Анна & Co")
    assert "<b Анна & Co" in text_of(ask_phone)  # shown literally, not parsed as HTML
    keyboard = await client.reply_keyboard(anna.id)
    assert keyboard is not None
    assert keyboard["keyboard"][0][0]["request_contact"] is True

    consent = await anna.share_contact()
    assert OWN_PHONE in text_of(consent)
    assert "согласны на обработку" in text_of(consent)

    menu = await anna.press(consent, "Согласен")
    assert "Регистрация завершена" in text_of(menu)
    labels = [label for label, _ in buttons_of(menu)]
    assert any("Каталог" in label for label in labels)
    assert any("Мои заявки" in label for label in labels)

    db = bot_stack.mongo()
    stored = await db.users.find_one({"_id": anna.id})
    assert stored is not None
    assert stored["name"] == "<b Анна & Co"
    assert stored["phone"] == OWN_PHONE
    assert stored["consent_at"] is not None

    # /start again: no second registration, straight to the menu with a correct greeting.
    again = await anna.say("/start")
    assert "<b Анна & Co" in text_of(again)
    assert any(
        g in text_of(again) for g in ("Доброе утро", "Добрый день", "Добрый вечер", "Доброй ночи")
    )
    await assert_rendering_clean(client)


async def test_someone_elses_contact_is_refused_and_skip_works(bot_stack: BotStack) -> None:
    client = bot_stack.client
    boris = await new_person(client, "Борис")
    other = await new_person(client, "Вера", phone="+79990001122")
    await boris.say("/start")
    await boris.say("Борис")

    refused = await boris.share_contact(of_user_id=other.id)
    assert "только свой номер" in text_of(refused)
    foreign = await boris.share_contact(foreign=True, phone="+79990001133")
    assert "только свой номер" in text_of(foreign)

    unexpected = await boris.say("какой-то текст")
    assert "Пропустить" in text_of(unexpected)

    consent = await boris.say("Пропустить")
    declined = await boris.press(consent, "Не согласен")
    assert "регистрация невозможна" in text_of(declined)

    db = bot_stack.mongo()
    stored = await db.users.find_one({"_id": boris.id})
    assert stored is not None
    assert stored.get("phone") is None
    assert stored.get("registered_at") is None
    await assert_rendering_clean(client)


async def test_english_speaker_gets_english(bot_stack: BotStack) -> None:
    client = bot_stack.client
    john = await new_person(client, "John", language="en")
    greeting = await john.say("/start")
    assert "what should we call you" in text_of(greeting)
    await john.say("John")
    consent = await john.share_contact()
    menu = await john.press(consent, "I agree")
    assert "Registration complete" in text_of(menu)
    help_text = await john.say("/help")
    assert "Commands: /start, /menu, /help" in text_of(help_text)
    await assert_rendering_clean(client)
