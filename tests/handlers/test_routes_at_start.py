"""A button the bot draws whose action has no route stops the bot at start, not at a press.

Without the check, a missing route would only show when somebody pressed the button (the user
told «Эта кнопка устарела»); a deploy with a dangling action must not start instead.
"""

from __future__ import annotations

import pytest
from telegram import Bot

from bot.telegram import catalog
from bot.telegram.actions import CatalogAction
from bot.telegram.application import build_application
from bot.telegram.callbacks import decode
from bot.telegram.routing import Routes, RoutingError
from tests.handlers.bot_api import TOKEN, RecordingRequest
from tests.handlers.harness import BotHarness, seed_catalog


async def test_an_action_without_a_route_fails_when_the_application_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The complete application builds, and the complex card (drawn on every «🏢 <complex>»
    # button) opens when pressed.
    harness = BotHarness()
    await seed_catalog(harness.storage)
    await harness.start()
    try:
        anna = harness.person("Анна")
        districts = await anna.press(await anna.say("/menu"), "Каталог ФОК")
        listing = await anna.press(districts, "Автозаводский")
        card_data = listing.screen.data("Олимп")  # type: ignore[union-attr]
        card = decode(card_data)
        assert (card.feature, card.action) == (CatalogAction.token, CatalogAction.CARD.action)
        assert "🏠 Адрес: ул. Лескова, 12" in (await anna.press_data(listing, card_data)).text
    finally:
        await harness.stop()

    # The catalog forgets the card's handler: keyboards still draw the action, nothing routes it.
    complete = catalog.ROUTES
    without_card = {a: h for a, h in complete.buttons.items() if a is not CatalogAction.CARD}
    monkeypatch.setattr(
        catalog, "ROUTES", Routes(complete.actions, without_card, steps=complete.steps)
    )
    bot = Bot(TOKEN, request=RecordingRequest(harness.api))
    with pytest.raises(RoutingError, match=r"no handler for catalog\.card"):
        build_application(harness.services, bot)
