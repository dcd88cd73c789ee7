"""Rules the services enforce for residents (the handlers only render what they raise or return),
and that a service given the user the gate already read does not read it again."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import NoEphemeralState, Services, Storage
from bot.domain.bookings import BookingStatus
from bot.domain.errors import (
    ConsentRequired,
    NotFound,
    PermissionDenied,
    SessionUnavailable,
    UserBlocked,
    ValidationFailed,
)
from bot.domain.paging import PageRequest
from bot.domain.sessions import Availability
from bot.domain.users import NotificationPreferences, Role
from bot.infra.calendar import IcsCalendarRenderer
from bot.infra.phones import PhoneNumbersNormalizer
from bot.services.container import build_services
from tests.fakes.clock import FakeClock
from tests.fakes.reports import report_adapters
from tests.integration.mongo.seed import NOW, add_catalog, add_resident, add_session, add_staff

pytestmark = pytest.mark.integration
SEED = Path(__file__).resolve().parents[3] / "data" / "catalog" / "nizhny-novgorod.json"


class Counting:
    """A storage adapter that counts the calls that reach it, by method name."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await method(*args, **kwargs)

        return counted


def counted_services(
    storage: Storage, clock: FakeClock
) -> tuple[Services, Counting, Counting, Counting]:
    users, sessions, catalog = (
        Counting(storage.users),
        Counting(storage.sessions),
        Counting(storage.catalog),
    )
    repos = replace(storage.repositories(), users=users, sessions=sessions, catalog=catalog)
    none = NoEphemeralState()
    services = build_services(
        repos,
        clock=clock,
        phones=PhoneNumbersNormalizer(),
        calendar=IcsCalendarRenderer(),
        dialogs=none,
        flood=none,
        reports=report_adapters(),
    )
    return services, users, sessions, catalog


# --- registration is checked by the services ----------------------------------------------------


async def test_profile_actions_need_a_registered_resident(
    storage: Storage, services: Services
) -> None:
    guest = await services.users.touch(10, "ru")  # first contact: not registered
    await add_resident(storage, 11)
    await add_staff(storage, 900, Role.ADMIN)
    blocked = await services.users.set_blocked(900, 11, True)
    for actor, error in ((guest, ConsentRequired), (10, ConsentRequired), (blocked, UserBlocked)):
        with pytest.raises(error):
            await services.users.profile(actor)
        with pytest.raises(error):
            await services.users.set_language(actor, "en")
        with pytest.raises(error):  # the guard comes before the check of the value
            await services.users.set_language(actor, "xx")
        with pytest.raises(error):
            await services.users.set_notifications(actor, NotificationPreferences(reminders=False))
        with pytest.raises(error):
            await services.users.toggle_notification(actor, "reminders")
        with pytest.raises(error):
            await services.users.delete_my_data(actor)
    assert await storage.users.get(10) == guest  # nothing was written
    stored = await storage.users.get(11)
    assert stored is not None
    assert (stored.name, stored.language, stored.notifications) == (
        "Житель 11",
        "ru",
        NotificationPreferences(),
    )


async def test_profile_changes_for_a_resident(storage: Storage, services: Services) -> None:
    resident = await add_resident(storage, 12)
    assert await services.users.profile(resident) == resident
    toggled = await services.users.toggle_notification(resident, "application_updates")
    assert toggled.notifications == NotificationPreferences(application_updates=False)
    again = await services.users.toggle_notification(toggled, "application_updates")
    assert again.notifications == NotificationPreferences()
    with pytest.raises(ValidationFailed):
        await services.users.toggle_notification(resident, "telepathy")
    english = await services.users.set_language(resident, "en")
    assert english.language == "en"
    with pytest.raises(ValidationFailed):
        await services.users.set_language(resident, "xx")
    erased = await services.users.delete_my_data(english)
    assert not erased.is_registered
    with pytest.raises(ConsentRequired):  # deleting twice is refused like any profile action
        await services.users.delete_my_data(erased)


async def test_applying_is_prepared_by_the_service(storage: Storage, services: Services) -> None:
    made = await add_catalog(storage, complexes=2)  # c00: swim only; c01: swim and yoga
    guest = await services.users.touch(20, "ru")
    with pytest.raises(ConsentRequired):  # registration first, even for an unknown complex
        await services.applications.prepare(guest, "nowhere")
    with pytest.raises(ConsentRequired):
        await services.applications.prepare(guest, made[0], "swim")
    resident = await add_resident(storage, 21)
    no_phone = await add_resident(storage, 22, phone=None)

    single = await services.applications.prepare(resident, "d1-c00")
    assert (single.complex_.code, single.sport_code, single.needs_phone) == (
        "d1-c00",
        "swim",
        False,
    )
    several = await services.applications.prepare(no_phone, "d1-c01")
    assert (several.sport_code, several.needs_phone) == (None, True)
    chosen = await services.applications.prepare(no_phone, made[1], "yoga")
    assert (chosen.complex_, chosen.sport_code, chosen.needs_phone) == (made[1], "yoga", True)
    with pytest.raises(ValidationFailed):
        await services.applications.prepare(resident, made[0], "yoga")
    with pytest.raises(NotFound):
        await services.applications.prepare(resident, "nowhere")
    await storage.catalog.upsert_complex(replace(made[0], active=False))
    with pytest.raises(NotFound):
        await services.applications.prepare(resident, "d1-c00")


# --- the user the gate read is not read again ----------------------------------------------------


async def test_services_use_the_user_they_are_given(storage: Storage, clock: FakeClock) -> None:
    (complex_,) = await add_catalog(storage)
    session = await add_session(storage, capacity=1)
    anna = await add_resident(storage, 30)
    boris = await add_resident(storage, 31)
    services, users, sessions, catalog = counted_services(storage, clock)

    booked = await services.bookings.book(anna, session.id)
    assert booked.booked
    assert (booked.session.id, booked.complex_.code) == (session.id, "d1-c00")
    waiting = await services.bookings.book(boris, session.id)
    assert (waiting.waitlisted, waiting.waitlist_position) == (True, 1)
    submitted = await services.applications.submit(anna, "d1-c00", "swim")
    assert submitted.created
    await services.users.set_language(anna, "en")
    await services.users.toggle_notification(anna, "reminders")
    await services.users.profile(anna)
    await services.applications.prepare(anna, "d1-c00")
    # The complex as the handler already read it (to resolve a button's sport) is not read again.
    await services.applications.prepare(boris, complex_, "swim")
    assert (await services.applications.submit(boris, complex_, "swim")).created
    with pytest.raises(NotFound):  # but it is still checked
        await services.applications.submit(boris, replace(complex_, active=False), "swim")
    assert users.calls["get"] == 0
    # One booking reads its session and its complex once each.
    assert sessions.calls["get"] == 2
    assert catalog.calls["get_complex"] == 2 + 1 + 1  # two bookings, the submit, the prepare

    # Without a user record (workers, the back office), the services read it by id.
    with pytest.raises(ConsentRequired):
        await services.bookings.book(99, session.id)
    assert users.calls["get"] == 1


async def test_a_user_passed_in_is_checked_as_given(storage: Storage, services: Services) -> None:
    """The services judge the record the gate read: blocked there means refused."""
    await add_catalog(storage)
    session = await add_session(storage)
    anna = await add_resident(storage, 32)
    with pytest.raises(UserBlocked):
        await services.bookings.book(replace(anna, blocked=True), session.id)
    with pytest.raises(ConsentRequired):
        await services.applications.submit(replace(anna, registered_at=None), "d1-c00", "swim")
    assert await storage.db.bookings.count_documents({}) == 0
    assert await storage.db.applications.count_documents({}) == 0


# --- what the schedule and the session card show ---------------------------------------------------


async def test_session_view(storage: Storage, services: Services, clock: FakeClock) -> None:
    await add_catalog(storage)
    open_ = await add_session(storage, session_id="a" * 24, capacity=1, hours_ahead=5)
    anna = await add_resident(storage, 40)
    await add_resident(storage, 41)

    view = await services.bookings.session_view(41, open_.id)
    assert (view.booking, view.availability, view.complex_.code) == (
        None,
        Availability.OPEN,
        "d1-c00",
    )
    await services.bookings.book(anna, open_.id)
    full = await services.bookings.session_view(41, open_.id)
    assert (full.booking, full.availability) == (None, Availability.FULL)
    mine = await services.bookings.session_view(40, open_.id)
    assert mine.booking is not None
    assert mine.booking.status is BookingStatus.ACTIVE
    await services.bookings.cancel(40, mine.booking.id)
    cancelled = await services.bookings.session_view(40, open_.id)
    assert cancelled.booking is None  # a closed booking allows booking again
    assert cancelled.availability is Availability.OPEN
    clock.advance(timedelta(hours=5))
    assert (await services.bookings.session_view(40, open_.id)).availability is Availability.CLOSED
    with pytest.raises(SessionUnavailable):
        await services.bookings.book(anna, open_.id)
    with pytest.raises(NotFound):
        await services.bookings.session_view(40, "f" * 24)


async def test_booking_a_session_of_a_closed_complex_is_refused(
    storage: Storage, services: Services
) -> None:
    made = await add_catalog(storage)
    session = await add_session(storage)
    anna = await add_resident(storage, 42)
    await storage.catalog.upsert_complex(replace(made[0], active=False))
    with pytest.raises(NotFound):
        await services.bookings.book(anna, session.id)
    with pytest.raises(NotFound):
        await services.bookings.session_view(42, session.id)
    assert await storage.db.bookings.count_documents({}) == 0
    stored = await storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 0


async def test_day_view(storage: Storage, services: Services, clock: FakeClock) -> None:
    complex_ = (await add_catalog(storage))[0]  # Europe/Moscow: NOW is 12:00 there
    past = await add_session(storage, session_id="a" * 24, hours_ahead=-1)
    full = await add_session(storage, session_id="b" * 24, hours_ahead=2, capacity=1)
    cancelled = await add_session(storage, session_id="c" * 24, hours_ahead=3)
    open_ = await add_session(storage, session_id="d" * 24, hours_ahead=4, capacity=3)
    await storage.sessions.cancel(cancelled.id)
    await add_resident(storage, 50)
    await services.bookings.book(50, full.id)
    today = NOW.date()

    view = await services.schedule.day_view(complex_, today)
    assert [(s.session.id, s.availability) for s in view.sessions] == [
        (past.id, Availability.CLOSED),
        (full.id, Availability.FULL),
        (open_.id, Availability.OPEN),
    ]
    assert (view.day, view.first_day, view.last_day) == (today, today, today + timedelta(days=13))
    assert (view.has_previous, view.has_next) == (False, True)
    assert [
        s.session.id for s in (await services.schedule.day_view(complex_, today, "yoga")).sessions
    ] == []

    before = await services.schedule.day_view(complex_, date(2020, 1, 1))
    assert before.day == today
    beyond = await services.schedule.day_view(complex_, today + timedelta(days=30))
    assert (beyond.day, beyond.has_previous, beyond.has_next) == (
        today + timedelta(days=13),
        True,
        False,
    )
    assert beyond.sessions == []
    clock.advance(timedelta(hours=2))
    later = await services.schedule.day_view(complex_, today)
    assert [s.availability for s in later.sessions] == [
        Availability.CLOSED,
        Availability.CLOSED,
        Availability.OPEN,
    ]


# --- operator and staff actions are audited --------------------------------------------------------


async def test_generating_and_importing_are_audited(storage: Storage, services: Services) -> None:
    document = json.loads(SEED.read_text(encoding="utf-8"))
    await add_staff(storage, 1, Role.ADMIN)
    await add_staff(storage, 2, Role.MANAGER, frozenset({document["complexes"][0]["code"]}))
    with pytest.raises(PermissionDenied):
        await services.catalog.import_file(2, document)
    with pytest.raises(PermissionDenied):
        await services.catalog.import_file(50, document)  # nobody
    with pytest.raises(PermissionDenied):
        await services.schedule.staff_generate(2, NOW.date(), 7)
    assert await storage.db.complexes.count_documents({}) == 0

    report = await services.catalog.import_file(None, document)
    assert (report.complexes, report.templates) == (
        len(document["complexes"]),
        len(document["session_templates"]),
    )
    assert await services.catalog.import_file(1, document) == report
    created = await services.schedule.staff_generate(None, NOW.date(), 7)
    assert created == len(document["session_templates"])
    assert await services.schedule.staff_generate(1, NOW.date(), 7) == 0
    audit = await storage.audit.recent(PageRequest(size=10))
    assert sorted((e.action, e.actor_id) for e in audit.items) == [
        ("catalog.import", 0),
        ("catalog.import", 1),
        ("sessions.generate", 0),
        ("sessions.generate", 1),
    ]
    by_operator = next(e for e in audit.items if (e.action, e.actor_id) == ("sessions.generate", 0))
    assert (by_operator.target_id, dict(by_operator.details)) == (
        NOW.date().isoformat(),
        {"days": 7, "created": created},
    )
    # The worker's daily run is the system's, not a person's: not audited.
    await services.schedule.generate(NOW.date(), 7)
    assert (await storage.audit.recent(PageRequest(size=10))).total == 4
    assert await services.catalog.count_complexes() == len(
        [c for c in document["complexes"] if c.get("active", True)]
    )
    assert await services.users.count_registered() == 2  # the two staff members
