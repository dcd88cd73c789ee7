"""What needs a registered resident is refused by the services and rendered by the handlers: every
button that used to check registration in its handler, pressed by someone who is not registered
(never was, or deleted their data), gets the registration text and changes nothing."""

from __future__ import annotations

import pytest

from bot.domain.users import NotificationPreferences
from bot.telegram.actions import ApplicationAction, ProfileAction, SessionAction
from bot.telegram.callbacks import sport_ref
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, VODNIK, BotHarness, Person

SESSION = "session"  # replaced by the id of a session the test adds
BUTTONS = {
    "profile": ProfileAction.VIEW.data(),
    "profile name": ProfileAction.NAME.data(),
    "profile phone": ProfileAction.PHONE.data(),
    "profile language": ProfileAction.LANGUAGE.data("en"),
    "profile toggle": ProfileAction.TOGGLE.data("r"),
    "profile delete": ProfileAction.DELETE.data(),
    "profile delete, confirmed": ProfileAction.CONFIRM_DELETE.data(),
    "apply": ApplicationAction.NEW.data(OLIMP),
    "apply, one sport": ApplicationAction.NEW.data(VODNIK),
    "apply, sport chosen": ApplicationAction.SPORT.data(OLIMP, sport_ref("yoga")),
    "apply, no comment": ApplicationAction.SUBMIT.data(OLIMP, sport_ref("yoga")),
    "book": SESSION,
}


async def _assert_refused(harness: BotHarness, person: Person, data: str) -> None:
    menu = await person.say("/menu")
    before = await harness.storage.users.get(person.id)
    reply = await person.press_data(menu, data)
    assert reply.alert == t("ru", "error.consent_required")
    assert harness.storage.applications.all() == []
    assert harness.storage.bookings.all() == []
    assert await harness.storage.users.get(person.id) == before
    state = await harness.dialogs.get(person.id, person.id)
    assert state is None or state.step == ""  # no input step entered


@pytest.mark.parametrize("button", BUTTONS)
async def test_a_guest_is_asked_to_register(harness: BotHarness, button: str) -> None:
    session = await harness.add_session()
    data = BUTTONS[button].replace(SESSION, SessionAction.BOOK.data(session.id))
    guest = harness.person("Гость")
    await _assert_refused(harness, guest, data)
    stored = await harness.storage.users.get(guest.id)
    assert stored is not None
    assert (stored.is_registered, stored.language) == (False, "ru")
    assert stored.notifications == NotificationPreferences()


@pytest.mark.parametrize("button", BUTTONS)
async def test_after_deleting_my_data_i_am_asked_to_register(
    harness: BotHarness, button: str
) -> None:
    session = await harness.add_session()
    data = BUTTONS[button].replace(SESSION, SessionAction.BOOK.data(session.id))
    anna = await harness.resident("Анна")
    await harness.services.users.delete_my_data(anna.id)
    await _assert_refused(harness, anna, data)


async def test_submitting_without_a_phone_asks_for_it_in_the_profile(harness: BotHarness) -> None:
    """A forged «Без комментария» skips the phone step: the service still refuses it."""
    anna = await harness.resident("Анна", phone=None)
    data = ApplicationAction.SUBMIT.data(OLIMP, sport_ref("yoga"))
    reply = await anna.press_data(await anna.say("/menu"), data)
    assert reply.alert == t("ru", "error.phone_required")
    assert harness.storage.applications.all() == []
