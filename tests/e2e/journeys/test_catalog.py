"""Catalog: districts (paginated), complexes of a district (correct on every page), the complex
card with its map location, search by several sports (paginated), the nearest complexes."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.catalog import Complex
from bot.domain.i18n import LocalizedText
from tests.e2e.conftest import CATALOG_STALENESS_S, BotStack
from tests.e2e.journeys.conftest import (
    BackOffice,
    assert_rendering_clean,
    buttons_of,
    new_person,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def complex_labels(message: dict) -> list[str]:  # type: ignore[type-arg]
    return [label for label, data in buttons_of(message) if data.startswith("1|ct|c|")]


async def test_districts_and_complexes_paginate_correctly(
    bot_stack: BotStack, back_office: BackOffice
) -> None:
    client = bot_stack.client
    # Sovetsky has 3 complexes in the seed; 10 more make two pages of 8.
    for index in range(10):
        await back_office.storage.catalog.upsert_complex(
            Complex(
                code=f"test-sovetsky-{index:02d}",
                name=LocalizedText(
                    {"ru": f"Тестовый ФОК {index:02d} <&>", "en": f"Test {index:02d}"}
                ),
                district="sovetsky",
                address=LocalizedText({"ru": f"ул. Тестовая, {index}"}),
                sports=("chess",),
                sort_order=100 + index,
            )
        )
    # Written behind the bots' backs: each instance sees it once its catalog copy is this old.
    await asyncio.sleep(CATALOG_STALENESS_S + 0.2)
    anna = await new_person(client, "Анна")
    menu = await anna.say("/menu")
    districts = await anna.press(menu, "Каталог")
    first_page = [label for label, data in buttons_of(districts) if data.startswith("1|ct|dc|")]
    second = await anna.press(districts, "➡️")
    second_page = [label for label, data in buttons_of(second) if data.startswith("1|ct|dc|")]
    assert len(first_page) + len(second_page) == 8
    assert not set(first_page) & set(second_page)
    back = await anna.press(second, "⬅️")
    assert [label for label, data in buttons_of(back) if data.startswith("1|ct|dc|")] == first_page

    district = back
    if not any("Советский" in label for label in first_page):
        district = await anna.press(back, "➡️")
    listing = await anna.press(district, "Советский")
    assert "Найдено: 13" in text_of(listing)
    page_one = complex_labels(listing)
    page_two_message = await anna.press(listing, "➡️")
    page_two = complex_labels(page_two_message)
    assert len(page_one) == 8
    assert len(page_two) == 5
    assert not set(page_one) & set(page_two)
    assert "Тестовый ФОК 09 <&>" in " ".join(page_one + page_two)
    await assert_rendering_clean(client)


async def test_card_map_search_and_nearest(bot_stack: BotStack) -> None:
    client = bot_stack.client
    anna = await new_person(client, "Анна")
    menu = await anna.say("/menu")
    district = await anna.press(await anna.press(menu, "Каталог"), "Автозаводский")
    card = await anna.press(district, "Олимп")
    text = text_of(card)
    for expected in (
        "ФОК «Олимп»",
        "Автозаводский",
        "ул. Лескова, 12",
        "+78312951204",
        "07:00",
        "Плавание",
        "25-метровый",
    ):
        assert expected in text, expected
    venue = await anna.press(card, "На карте")
    assert venue["venue"]["location"]["latitude"] == pytest.approx(56.2418)

    search = await anna.press(await anna.say("/menu"), "По видам спорта")
    search = await anna.press(search, "Бокс")
    search = await anna.press(search, "Шахматы")
    assert "✅ 🥊 Бокс" in str(buttons_of(search)) or "✅" in str(buttons_of(search))
    results = await anna.press(search, "Найти")
    assert "Результаты поиска" in text_of(results)
    assert "Бокс" in text_of(results)
    assert "Шахматы" in text_of(results)
    found = complex_labels(results)
    assert found
    cleared = await anna.press(await anna.press(results, "К поиску"), "Очистить")
    assert not any("✅" in label for label, _ in buttons_of(cleared))

    ask = await anna.press(await anna.say("/menu"), "Рядом со мной")
    assert "геопозицию" in text_of(ask)
    keyboard = await client.reply_keyboard(anna.id)
    assert keyboard["keyboard"][0][0]["request_location"] is True
    nearest = await anna.share_location(56.2418, 43.8563)
    assert "Ближайшие ФОК" in text_of(nearest)
    assert "1. ФОК «Олимп» — 0.0 км" in text_of(nearest)
    assert len(complex_labels(nearest)) == 5
    await assert_rendering_clean(client)
