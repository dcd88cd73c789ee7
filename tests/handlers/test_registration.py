"""Registration: /start, name, own phone (someone else's refused) or skip, consent, the menu."""

from __future__ import annotations

from bot.domain.users import User
from bot.telegram.texts import t
from tests.handlers.harness import NOW, OWN_PHONE, BotHarness


async def test_registration_with_own_phone_reaches_the_menu(harness: BotHarness) -> None:
    anna = harness.person("Анна")
    greeting = await anna.say("/start")
    assert greeting.screen is not None
    assert greeting.screen.html == t("ru", "start.greeting")
    assert greeting.methods == ["sendMessage"]
    assert greeting.calls[0].params["reply_markup"] == {"remove_keyboard": True}

    too_short = await anna.say("А")
    assert too_short.text == "❌ Введите имя от 2 до 64 символов обычным текстом."
    assert (await harness.storage.users.get(anna.id)) == User(
        telegram_id=anna.id, language="ru", registration_started_at=NOW
    )

    ask_phone = await anna.say("  <b Анна   & Co ")
    assert "Приятно познакомиться, <b Анна & Co!" in ask_phone.text  # literal, not HTML
    assert "&lt;b Анна &amp; Co" in ask_phone.calls[0].params["text"]
    keyboard = anna.reply_keyboard
    assert keyboard is not None
    assert keyboard["keyboard"][0][0] == {"text": "📱 Поделиться номером", "request_contact": True}
    assert keyboard["keyboard"][1][0] == {"text": "Пропустить"}

    consent = await anna.share_contact()
    assert f"✅ Номер сохранён: {OWN_PHONE}" in consent.text
    assert "Вы согласны на обработку персональных данных?" in consent.text
    assert consent.screen is not None
    assert consent.screen.labels == ["✅ Согласен", "Не согласен"]
    assert len(consent.sent) == 1  # one message: the per-chat budget is one a second

    menu = await anna.press(consent, "Согласен")
    assert menu.methods == ["editMessageText", "answerCallbackQuery"]
    assert menu.text.startswith("✅ Регистрация завершена!")
    assert "Добрый день, <b Анна & Co!" in menu.text  # 12:00 in Moscow
    assert menu.screen is not None
    assert menu.screen.labels == [
        "🏢 Каталог ФОК",
        "🔍 По видам спорта",
        "📍 Рядом со мной",
        "📋 Мои заявки",
        "🗓 Мои записи",
        "👤 Профиль",
        "ℹ️ Помощь",
    ]
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert (stored.name, stored.phone, stored.language) == ("<b Анна & Co", OWN_PHONE, "ru")
    assert stored.consent_at == NOW
    assert stored.registered_at == NOW
    assert stored.is_registered

    # /start again: no second registration, straight to the menu.
    again = await anna.say("/start")
    assert "Добрый день, <b Анна & Co!" in again.text
    assert (await harness.storage.users.get(anna.id)) == stored
    assert (await harness.dialogs.get(anna.id, anna.id)) is not None
    assert (await harness.dialogs.get(anna.id, anna.id)).step == ""  # type: ignore[union-attr]


async def test_the_greeting_follows_the_time_in_moscow(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    for utc_hour, greeting in (
        (4, "Доброе утро"),
        (9, "Добрый день"),
        (16, "Добрый вечер"),
        (21, "Доброй ночи"),
    ):
        harness.clock.set(NOW.replace(hour=utc_hour))
        menu = await anna.say("/menu")
        assert f"{greeting}, Анна!" in menu.text, utc_hour


async def test_someone_elses_contact_is_refused_then_skip_and_refused_consent(
    harness: BotHarness,
) -> None:
    boris = harness.person("Борис")
    vera = harness.person("Вера", phone="+79990001122")
    await boris.say("/start")
    await boris.say("Борис")

    refused = await boris.share_contact(of_user_id=vera.id, phone=vera.phone)
    assert refused.text == t("ru", "phone.not_own")
    assert refused.calls[0].params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    unowned = await boris.share_contact(of_user_id=None, phone="+79990001133")
    assert unowned.text == t("ru", "phone.not_own")
    stored = await harness.storage.users.get(boris.id)
    assert stored is not None
    assert stored.phone is None

    typed = await boris.say("какой-то текст")
    assert "«Поделиться номером» или «Пропустить»" in typed.text

    consent = await boris.say("Пропустить")
    assert "номер можно добавить позже" in consent.text
    declined = await boris.press(consent, "Не согласен")
    assert "регистрация невозможна" in declined.text
    stored = await harness.storage.users.get(boris.id)
    assert stored is not None
    assert (stored.name, stored.phone, stored.registered_at, stored.consent_at) == (
        "Борис",
        None,
        None,
        None,
    )
    # Consent refused: the menu still treats him as a guest, and what he types is not taken
    # for a registration step.
    assert "зарегистрируйтесь: /start" in (await boris.say("/menu")).text
    assert (await boris.say("привет")).text == t("ru", "fallback.unknown")


async def test_registration_without_phone_says_how_to_add_it(harness: BotHarness) -> None:
    gleb = harness.person("Глеб")
    await gleb.say("/start")
    await gleb.say("Глеб")
    consent = await gleb.say("пропустить")  # the button text, any case
    menu = await gleb.press(consent, "Согласен")
    assert menu.text.startswith(t("ru", "start.done_no_phone"))
    stored = await harness.storage.users.get(gleb.id)
    assert stored is not None
    assert stored.is_registered
    assert stored.phone is None


async def test_an_invalid_number_is_refused(harness: BotHarness) -> None:
    dina = harness.person("Дина")
    await dina.say("/start")
    await dina.say("Дина")
    refused = await dina.share_contact(phone="12")
    assert refused.text == t("ru", "phone.invalid")
    stored = await harness.storage.users.get(dina.id)
    assert stored is not None
    assert stored.phone is None


async def test_an_english_speaker_registers_in_english(harness: BotHarness) -> None:
    john = harness.person("John", language="en")
    greeting = await john.say("/start")
    assert "what should we call you?" in greeting.text
    ask = await john.say("John")
    assert "Nice to meet you, John!" in ask.text
    assert john.reply_keyboard is not None
    assert john.reply_keyboard["keyboard"][0][0]["text"] == "📱 Share my number"
    consent = await john.share_contact()
    menu = await john.press(consent, "I agree")
    assert menu.text.startswith("✅ Registration complete!")
    assert "Good afternoon, John!" in menu.text
    stored = await harness.storage.users.get(john.id)
    assert stored is not None
    assert stored.language == "en"


async def test_registration_goes_on_from_the_record_when_its_dialog_step_is_lost(
    harness: BotHarness,
) -> None:
    """Redis replicates asynchronously: a master failing over may lose the step just written.
    What the person had typed is in MongoDB, and registration goes on from there."""
    anna = harness.person("Анна")
    await anna.say("/start")
    await harness.dialogs.clear(anna.id, anna.id)  # the name step, lost
    ask_phone = await anna.say("Анна")
    assert "Приятно познакомиться, Анна!" in ask_phone.text
    await harness.dialogs.clear(anna.id, anna.id)  # the phone step, lost
    consent = await anna.share_contact()
    assert f"✅ Номер сохранён: {OWN_PHONE}" in consent.text
    assert "Вы согласны на обработку персональных данных?" in consent.text
    await harness.dialogs.clear(anna.id, anna.id)  # the consent step, lost: its buttons still work
    menu = await anna.press(consent, "Согласен")
    assert menu.text.startswith("✅ Регистрация завершена!")
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert (stored.name, stored.phone, stored.is_registered) == ("Анна", OWN_PHONE, True)

    # The phone step taken back to the name step: «Пропустить» is not a name.
    gleb = harness.person("Глеб")
    await gleb.say("/start")
    await gleb.say("Глеб")
    await harness.dialogs.clear(gleb.id, gleb.id)
    await gleb.say("/start")  # the name step again, as an older write would leave it
    skipped = await gleb.say("Пропустить")
    assert "номер можно добавить позже" in skipped.text
    stored = await harness.storage.users.get(gleb.id)
    assert stored is not None
    assert stored.name == "Глеб"

    # A guest who never sent /start is not registering: their text is not taken for a name.
    guest = harness.person("Гость")
    await guest.say("/menu")
    assert (await guest.say("Гость")).text == t("ru", "fallback.unknown")
    stored = await harness.storage.users.get(guest.id)
    assert stored is not None
    assert stored.name is None


async def test_a_phone_shared_before_the_name_asks_for_the_name_then_the_consent(
    harness: BotHarness,
) -> None:
    vera = harness.person("Вера")
    await vera.say("/start")
    ask_name = await vera.share_contact()
    assert f"✅ Номер сохранён: {OWN_PHONE}" in ask_name.text
    assert t("ru", "start.ask_name_after_phone") in ask_name.text
    consent = await vera.say("Вера")
    assert "Приятно познакомиться, Вера!" in consent.text
    assert "Вы согласны на обработку персональных данных?" in consent.text
    menu = await vera.press(consent, "Согласен")
    assert menu.text.startswith("✅ Регистрация завершена!")
    stored = await harness.storage.users.get(vera.id)
    assert stored is not None
    assert (stored.name, stored.phone, stored.is_registered) == ("Вера", OWN_PHONE, True)
