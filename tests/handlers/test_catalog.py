"""Catalog: districts (6 per page), complexes of a district (8 per page), the card, the map,
search by several sports, and the nearest complexes to a shared location."""

from __future__ import annotations

from bot.telegram.texts import t
from tests.handlers.harness import BotHarness, Reply


def complexes_in(reply: Reply) -> list[str]:
    assert reply.screen is not None
    return [label for label, data in reply.screen.buttons if data.startswith("1|ct|c|")]


def districts_in(reply: Reply) -> list[str]:
    assert reply.screen is not None
    return [label for label, data in reply.screen.buttons if data.startswith("1|ct|dc|")]


async def test_districts_and_complexes_page_correctly(harness: BotHarness) -> None:
    anna = harness.person("Анна")  # browsing needs no registration
    districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
    assert districts.screen is not None
    assert districts.screen.html == t("ru", "catalog.districts")
    first = districts_in(districts)
    assert first == [
        "📍 Автозаводский",
        "📍 Канавинский",
        "📍 Ленинский",
        "📍 Московский",
        "📍 Нижегородский",
        "📍 Приокский",
    ]
    assert "Стр. 1 из 2" in districts.screen.labels
    second = await anna.press(districts, "➡️")
    assert districts_in(second) == ["📍 Советский"]  # the inactive district is not listed
    assert second.screen is not None
    assert "Стр. 2 из 2" in second.screen.labels
    assert not second.screen.has_button("➡️")
    empty = await anna.press(second, "Советский")
    assert "В этом районе пока нет ФОК" in empty.text
    districts = await anna.press(empty, "К районам")
    assert districts_in(districts) == first
    second = await anna.press(districts, "➡️")
    back = await anna.press(second, "⬅️")
    assert districts_in(back) == first
    assert back.screen is not None
    assert districts.screen is not None
    assert back.screen.id == districts.screen.id  # every page is an edit of one message

    listing = await anna.press(back, "Автозаводский")
    assert "ФОК района: Автозаводский" in listing.text
    assert "Найдено: 10" in listing.text  # the closed complex is not counted
    page_one = complexes_in(listing)
    assert page_one[:2] == ["🏢 ФОК «Олимп»", "🏢 ФОК «Водник»"]  # featured first
    assert len(page_one) == 8
    page_two = complexes_in(await anna.press(listing, "➡️"))
    assert page_two == ["🏢 Тестовый ФОК 06 <&>", "🏢 Тестовый ФОК 07 <&>"]
    assert not set(page_one) & set(page_two)


async def test_the_complex_card_and_its_map_location(harness: BotHarness) -> None:
    anna = harness.person("Анна")
    district = await anna.press(
        await anna.press(await anna.say("/menu"), "Каталог ФОК"), "Автозаводский"
    )
    card = await anna.press(district, "Олимп")
    for expected in (
        "🏢 ФОК «Олимп»",
        "📍 Район: Автозаводский",
        "🏠 Адрес: ул. Лескова, 12",
        "📞 Телефон: +78312951204",
        "🕐 Режим работы: пн–вс 07:00–22:00",
        "⚽ Виды спорта: 🏊 Плавание, 🧘 Йога, 🏐 Волейбол",
        "📝 25-метровый бассейн <6 дорожек> & сауна",
    ):
        assert expected in card.text, expected
    assert card.screen is not None
    assert card.screen.labels == [
        "📝 Подать заявку",
        "📅 Расписание",
        "🗺 На карте",
        "🔙 К ФОК района",
        "🏠 Главное меню",
    ]

    venue = await anna.press(card, "На карте")
    (sent,) = venue.calls_of("sendVenue")
    assert sent.params["latitude"] == 56.2418
    assert sent.params["longitude"] == 43.8563
    assert sent.params["title"] == "ФОК «Олимп»"
    assert sent.params["address"] == "ул. Лескова, 12"
    assert venue.alert is None

    # A complex without a location shows no map button; its card says what is not known.
    test_card = await anna.press(await anna.press(card, "К ФОК района"), "Тестовый ФОК 00")
    assert test_card.screen is not None
    assert not test_card.screen.has_button("На карте")
    assert "📞 Телефон: не указано" in test_card.text
    forged_map = await anna.press_data(test_card, "1|ct|mp|fok-test-00")
    assert forged_map.alert == t("ru", "catalog.no_location")


async def test_search_by_several_sports_then_clear(harness: BotHarness) -> None:
    anna = harness.person("Анна")
    search = await anna.press(await anna.say("/menu"), "По видам спорта")
    assert search.screen is not None
    assert search.screen.labels[:5] == [
        "⬜ 🥊 Бокс",
        "⬜ ♟ Шахматы",
        "⬜ 🏊 Плавание",
        "⬜ 🏐 Волейбол",
        "⬜ 🧘 Йога",
    ]
    assert not search.screen.has_button("Найти")  # nothing picked yet
    search = await anna.press(search, "Бокс")
    search = await anna.press(search, "Йога")
    assert search.screen is not None
    assert "✅ 🥊 Бокс" in search.screen.labels
    assert "✅ 🧘 Йога" in search.screen.labels
    state = await harness.dialogs.get(anna.id, anna.id)
    assert state is not None
    assert state.data["search_sports"] == ["boxing", "yoga"]

    results = await anna.press(search, "Найти")
    assert "Результаты поиска" in results.text
    assert "Виды спорта: Бокс, Йога" in results.text
    assert "Найдено ФОК: 5" in results.text
    assert complexes_in(results) == [
        "🏢 ФОК «Олимп»",
        "🏢 ФОК «Канавино»",
        "🏢 ФОК «Кремль»",
        "🏢 ФОК «Ленинец»",
        "🏢 ФОК «Москва»",
    ]
    untick = await anna.press(await anna.press(results, "К поиску"), "Бокс")
    assert untick.screen is not None
    assert "⬜ 🥊 Бокс" in untick.screen.labels
    cleared = await anna.press(untick, "Очистить")
    assert cleared.screen is not None
    assert not any("✅" in label for label in cleared.screen.labels)
    state = await harness.dialogs.get(anna.id, anna.id)
    assert state is not None
    assert state.data["search_sports"] == []
    nothing = await anna.press_data(cleared, "1|ct|sr|0")  # a stale «Найти»
    assert nothing.alert == t("ru", "search.empty_selection")


async def test_search_results_page_by_eight(harness: BotHarness) -> None:
    anna = harness.person("Анна")
    search = await anna.press(await anna.say("/menu"), "По видам спорта")
    results = await anna.press(await anna.press(search, "Шахматы"), "Найти")
    assert "Найдено ФОК: 10" in results.text
    assert len(complexes_in(results)) == 8
    rest = await anna.press(results, "➡️")
    assert len(complexes_in(rest)) == 2


async def test_the_five_nearest_complexes_to_a_shared_location(harness: BotHarness) -> None:
    anna = harness.person("Анна")
    ask = await anna.press(await anna.say("/menu"), "Рядом со мной")
    assert ask.text == t("ru", "nearest.ask")
    assert ask.methods == ["answerCallbackQuery", "sendMessage"]
    assert anna.reply_keyboard is not None
    assert anna.reply_keyboard["keyboard"][0][0]["request_location"] is True

    nearest = await anna.share_location(56.2418, 43.8563)
    assert "📍 Ближайшие ФОК" in nearest.text
    lines = [
        line for line in nearest.text.splitlines() if line[:2] in {"1.", "2.", "3.", "4.", "5."}
    ]
    assert lines[0] == "1. ФОК «Олимп» — 0.0 км"
    assert lines[1].startswith("2. ФОК «Водник» — 0.")
    assert len(lines) == 5
    assert len(complexes_in(nearest)) == 5
    state = await harness.dialogs.get(anna.id, anna.id)
    assert state is not None
    assert state.step == ""


async def test_cancelling_the_location_prompt(harness: BotHarness) -> None:
    anna = await harness.resident("Анна")
    await anna.press(await anna.say("/menu"), "Рядом со мной")
    cancelled = await anna.say("Отмена")
    assert cancelled.text.startswith("Ввод отменён.")
    assert anna.reply_keyboard is None
