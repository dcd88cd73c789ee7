"""Keyboards: every button carries codec data (≤ 64 bytes) and pagination never dead-ends."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.domain.paging import Page
from bot.domain.users import User
from bot.telegram import keyboards
from bot.telegram.actions import ApplicationAction, CatalogAction
from bot.telegram.callbacks import MAX_BYTES, decode
from bot.telegram.profile import profile_screen


def all_data(markup: InlineKeyboardMarkup) -> list[str]:
    return [str(b.callback_data) for row in markup.inline_keyboard for b in row]


def test_main_menu_buttons_decode_to_known_features() -> None:
    for language in ("ru", "en"):
        data = all_data(keyboards.main_menu(language))
        features = {decode(d).feature for d in data}
        assert features == {"ct", "ap", "ss", "pf", "hp"}
        assert all(len(d.encode()) <= MAX_BYTES for d in data)


def test_pager_shows_neighbours_and_the_current_page() -> None:
    page = Page(items=[1] * 8, page=1, size=8, total=30)
    middle = keyboards.pager_row("ru", page, ApplicationAction.LIST)
    assert [decode(str(b.callback_data)).args for b in middle] == [("0",), ("1",), ("2",)]
    assert middle[1].text == "Стр. 2 из 4"
    last_page = Page(items=[1] * 6, page=3, size=8, total=30)
    last = keyboards.pager_row("en", last_page, CatalogAction.DISTRICT, "x")
    assert [decode(str(b.callback_data)).args for b in last] == [("x", "2"), ("x", "3")]
    single = Page(items=[1], page=0, size=8, total=1)
    assert keyboards.pager_row("ru", single, ApplicationAction.LIST) == []


def test_phone_and_location_requests() -> None:
    phone = keyboards.phone_request("ru", skippable=True)
    assert phone.keyboard[0][0].request_contact is True
    assert phone.keyboard[1][0].text == "Пропустить"
    assert keyboards.phone_request("en", skippable=False).keyboard[1][0].text == "Cancel"
    assert keyboards.location_request("ru").keyboard[0][0].request_location is True


def test_profile_keyboard_offers_the_other_language() -> None:
    user = User(telegram_id=1, name="<Анна>", language="ru")
    screen = profile_screen(user)
    assert isinstance(screen.markup, InlineKeyboardMarkup)
    data = all_data(screen.markup)
    assert "1|pf|l|en" in data
    assert "&lt;Анна&gt;" in screen.text
