"""Profile: name, phone, language, notification toggles, and deleting my data."""

from __future__ import annotations

from bot.domain.users import NotificationPreferences
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, OWN_PHONE, BotHarness, Person, Reply


async def open_profile(person: Person) -> Reply:
    return await person.press(await person.say("/menu"), "Профиль")


async def test_the_profile_card(harness: BotHarness) -> None:
    anna = await harness.resident("Анна", phone=None)
    profile = await open_profile(anna)
    for line in ("👤 Профиль", "Имя: Анна", "Телефон: не указан", "Язык: русский"):
        assert line in profile.text
    assert "✅ Напоминания о занятиях\n✅ Статусы заявок\n✅ Новости ФОК" in profile.text
    assert profile.screen is not None
    assert profile.screen.labels == [
        "✏️ Изменить имя",
        "📱 Изменить телефон",
        "🌐 English",
        "✅ Напоминания",
        "✅ Статусы заявок",
        "✅ Новости",
        "🗑 Удалить мои данные",
        "🏠 Главное меню",
    ]


async def test_edit_the_name(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    ask = await anna.press(await open_profile(anna), "Изменить имя")
    assert ask.text == t("ru", "profile.ask_name")
    invalid = await anna.say("x" * 65)
    assert invalid.text == t("ru", "start.name_invalid")
    command = await anna.say("/начало")
    assert command.text == t("ru", "fallback.unknown")  # a command is never a name
    ask = await anna.press(await open_profile(anna), "Изменить имя")
    renamed = await anna.say("Анна & <Мария>")
    assert renamed.text.startswith("✅ Имя изменено: Анна & <Мария>")
    assert "Имя: Анна & <Мария>" in renamed.text
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert stored.name == "Анна & <Мария>"
    after = await anna.say("Ещё одно имя")  # the dialog is over
    assert after.text == t("ru", "fallback.unknown")


async def test_edit_the_phone_only_with_the_own_contact(harness: BotHarness) -> None:
    anna = await harness.resident("Анна", phone=None)
    ask = await anna.press(await open_profile(anna), "Изменить телефон")
    assert ask.text == t("ru", "profile.ask_phone")
    assert ask.methods == ["sendMessage", "answerCallbackQuery"]
    assert anna.reply_keyboard is not None
    assert anna.reply_keyboard["keyboard"][0][0]["request_contact"] is True
    typed = await anna.say("+79161234567")
    assert typed.text == t("ru", "profile.ask_phone")
    other = harness.person("Чужой", phone="+79990002233")
    refused = await anna.share_contact(of_user_id=other.id, phone=other.phone)
    assert refused.text == t("ru", "phone.not_own")
    saved = await anna.share_contact()
    assert saved.text.startswith(f"✅ Номер сохранён: {OWN_PHONE}")
    assert f"Телефон: {OWN_PHONE}" in saved.text
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert stored.phone == OWN_PHONE


async def test_notification_toggles(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    profile = await open_profile(anna)
    toggled = await anna.press(profile, "Напоминания")
    assert "⬜ Напоминания о занятиях" in toggled.text
    toggled = await anna.press(toggled, "Новости")
    assert "⬜ Новости ФОК" in toggled.text
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert stored.notifications == NotificationPreferences(
        reminders=False, application_updates=True, broadcasts=False
    )
    back = await anna.press(toggled, "Напоминания")
    assert "✅ Напоминания о занятиях" in back.text
    forged = await anna.press_data(back, "1|pf|t|z")
    assert forged.alert == t("ru", "fallback.outdated")


async def test_switch_the_language_and_back(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    english = await anna.press(await open_profile(anna), "English")
    assert "👤 Profile" in english.text
    assert "Language: English" in english.text
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert stored.language == "en"
    menu = await anna.say("/menu")
    assert "Good afternoon, Анна!" in menu.text
    assert "Choose a section:" in menu.text
    russian = await anna.press(await anna.press(menu, "Profile"), "Русский")
    assert "👤 Профиль" in russian.text
    forged = await anna.press_data(russian, "1|pf|l|de")
    assert forged.alert == t("ru", "error.validation_failed")


async def test_delete_my_data_erases_anonymises_and_start_registers_anew(
    harness: BotHarness,
) -> None:
    boris = await harness.resident("Борис")
    await harness.services.applications.submit(boris.id, OLIMP, "yoga", "мой комментарий")
    confirm = await boris.press(await open_profile(boris), "Удалить мои данные")
    assert "Удалить ваши данные?" in confirm.text
    assert "Это нельзя отменить." in confirm.text
    kept = await boris.press(confirm, "Нет, оставить")
    assert "👤 Профиль" in kept.text
    assert (await harness.storage.users.get(boris.id)).name == "Борис"  # type: ignore[union-attr]

    done = await boris.press(await boris.press(kept, "Удалить мои данные"), "Да, удалить")
    assert done.text == t("ru", "profile.deleted")
    stored = await harness.storage.users.get(boris.id)
    assert stored is not None
    assert (stored.name, stored.phone, stored.consent_at, stored.registered_at) == (None,) * 4
    assert stored.deleted_at == harness.clock.now()
    (application,) = harness.storage.applications.all()
    assert (application.applicant_name, application.applicant_phone, application.comment) == (
        None,
        None,
        None,
    )
    assert await harness.dialogs.get(boris.id, boris.id) is None

    # The bot treats him as new: personal sections ask to register, /start registers again.
    refused = await boris.press(await boris.say("/menu"), "Профиль")
    assert refused.alert == t("ru", "error.consent_required")
    greeting = await boris.say("/start")
    assert greeting.text == t("ru", "start.greeting").replace("<b>", "").replace("</b>", "")
    await boris.say("Борис Новый")
    consent = await boris.say("Пропустить")
    await boris.press(consent, "Согласен")
    again = await harness.storage.users.get(boris.id)
    assert again is not None
    assert again.is_registered
    assert (again.name, again.deleted_at) == ("Борис Новый", None)
