"""Profile: edit name and phone, switch language, notification preferences, delete my data."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BotStack
from tests.e2e.journeys.conftest import assert_rendering_clean, new_person, text_of

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_edit_profile_language_and_notifications(bot_stack: BotStack) -> None:
    client = bot_stack.client
    db = bot_stack.mongo()
    anna = await new_person(client, "Анна")
    menu = await anna.register("Анна", phone=False)
    profile = await anna.press(menu, "Профиль")
    assert "Телефон: не указан" in text_of(profile)

    ask = await anna.press(profile, "Изменить имя")
    assert "новое имя" in text_of(ask)
    invalid = await anna.say("x" * 65)
    assert "от 2 до 64" in text_of(invalid)
    renamed = await anna.say("Анна & <Мария>")
    assert "Имя изменено: Анна & <Мария>" in text_of(renamed)

    await anna.press(renamed, "Изменить телефон")
    other = await new_person(client, "Чужой", phone="+79990002233")
    refused = await anna.share_contact(of_user_id=other.id)
    assert "только свой номер" in text_of(refused)
    saved = await anna.share_contact()
    assert "Номер сохранён: +79161234567" in text_of(saved)

    toggled = await anna.press(saved, "Напоминания")
    assert "⬜ Напоминания о занятиях" in text_of(toggled)
    stored = await db.users.find_one({"_id": anna.id})
    assert stored["notifications"]["reminders"] is False

    english = await anna.press(toggled, "English")
    assert "Profile" in text_of(english)
    assert "Language: English" in text_of(english)
    menu_en = await anna.say("/menu")
    assert "Choose a section" in text_of(menu_en)
    back = await anna.press(await anna.press(menu_en, "Profile"), "Русский")
    assert "Профиль" in text_of(back)
    await assert_rendering_clean(client)


async def test_delete_my_data_erases_and_anonymises(bot_stack: BotStack) -> None:
    client = bot_stack.client
    db = bot_stack.mongo()
    boris = await new_person(client, "Борис")
    menu = await boris.register("Борис")
    card = await boris.press(
        await boris.press(await boris.press(menu, "Каталог"), "Автозаводский"), "Олимп"
    )
    sports = await boris.press(card, "Подать заявку")
    await boris.press(await boris.press(sports, "Плавание"), "Без комментария")

    profile = await boris.press(await boris.say("/menu"), "Профиль")
    confirm = await boris.press(profile, "Удалить мои данные")
    assert "нельзя отменить" in text_of(confirm)
    kept = await boris.press(confirm, "Нет, оставить")
    assert "Профиль" in text_of(kept)
    confirm = await boris.press(kept, "Удалить мои данные")
    done = await boris.press(confirm, "Да, удалить")
    assert "данные удалены" in text_of(done)

    user = await db.users.find_one({"_id": boris.id})
    assert user.get("name") is None
    assert user.get("phone") is None
    assert user["deleted_at"] is not None
    application = await db.applications.find_one({"user_id": boris.id})
    assert application is not None
    assert application.get("applicant_name") in (None, "—")
    assert application.get("applicant_phone") is None

    # After deletion the bot treats him as new: /start registers again.
    again = await boris.say("/start")
    assert "как к вам обращаться" in text_of(again)
    await assert_rendering_clean(client)
