"""The main menu, help, and whatever no feature claims: unknown text, commands and stickers."""

from __future__ import annotations

from bot.telegram.texts import t
from tests.handlers.harness import BotHarness


async def test_help_by_command_and_by_button(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    by_command = await anna.say("/help")
    assert by_command.screen is not None
    assert by_command.screen.html == t("ru", "help.text")
    assert "Команды: /start, /menu, /help" in by_command.text
    assert by_command.screen.labels == ["🏠 Главное меню"]

    menu = await anna.say("/menu")
    by_button = await anna.press(menu, "Помощь")
    assert by_button.methods == ["editMessageText", "answerCallbackQuery"]
    assert by_button.screen is not None
    assert by_button.screen.id == menu.screen.id  # type: ignore[union-attr]
    assert "Команды: /start, /menu, /help" in by_button.text
    back = await anna.press(by_button, "Главное меню")
    assert "Добрый день, Анна!" in back.text


async def test_the_guest_menu_asks_to_register_and_every_button_is_answered(
    harness: BotHarness,
) -> None:
    guest = harness.person("Гость")
    menu = await guest.say("/menu")
    assert "зарегистрируйтесь: /start" in menu.text
    assert menu.screen is not None
    assert len(menu.screen.buttons) == 7
    for label, data in menu.screen.buttons:
        fresh = await guest.say("/menu")
        pressed = await guest.press_data(fresh, data)  # answered exactly once, no error
        assert pressed.calls_of("answerCallbackQuery"), label
    # A guest may browse; personal sections ask for registration.
    profile = await guest.press(await guest.say("/menu"), "Профиль")
    assert profile.alert == t("ru", "error.consent_required")
    assert profile.is_alert


async def test_unknown_text_commands_and_stickers_get_the_menu(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    for reply in (
        await anna.say("что тут происходит?"),
        await anna.say("/weather"),
        await anna.send_sticker(),
    ):
        assert reply.text == t("ru", "fallback.unknown")
        assert reply.screen is not None
        assert reply.screen.has_button("Каталог ФОК")  # not a dead end
        assert reply.methods == ["sendMessage"]


async def test_the_menu_abandons_half_typed_input(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    profile = await anna.press(await anna.say("/menu"), "Профиль")
    await anna.press(profile, "Изменить имя")
    await anna.say("/menu")
    after = await anna.say("Мария")  # no longer a name: nothing asked for it
    assert after.text == t("ru", "fallback.unknown")
    stored = await harness.storage.users.get(anna.id)
    assert stored is not None
    assert stored.name == "Анна"


async def test_a_press_that_changes_nothing_edits_nothing(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    menu = await anna.say("/menu")
    helped = await anna.press(menu, "Помощь")
    again = await anna.press_data(helped, "1|hp|h")  # the same screen once more
    assert again.methods == ["answerCallbackQuery"]
    assert again.alert is None
