"""Use cases against real storage: registration, catalog, applications, schedule, reminders."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from pymongo.errors import DuplicateKeyError

from bot.bootstrap import Services, Storage
from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import BookingStatus
from bot.domain.catalog import GeoPoint
from bot.domain.errors import (
    CancellationWindowClosed,
    ConsentRequired,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PhoneRequired,
    SessionUnavailable,
    StaleAction,
    UserBlocked,
    ValidationFailed,
)
from bot.domain.paging import PageRequest
from bot.domain.users import Role
from bot.infra.mongo.migrations import applied_versions, latest_version, migrate
from bot.services.catalog_io import export_catalog, import_catalog
from tests.fakes.clock import FakeClock
from tests.integration.mongo.seed import NOW, add_catalog, add_resident, add_session, add_staff

pytestmark = pytest.mark.integration
SEED = Path(__file__).resolve().parents[3] / "data" / "catalog" / "nizhny-novgorod.json"


async def test_migrations_are_idempotent_and_enforce_invariants(storage: Storage) -> None:
    assert await migrate(storage.db) == []  # the fixture applied them already
    assert await applied_versions(storage.db) == list(range(1, latest_version() + 1))
    doc = {"user_id": 1, "complex_code": "c", "sport_code": "s", "active": True}
    await storage.db.applications.insert_one(dict(doc, _id="a1"))
    await storage.db.applications.insert_one(dict(doc, _id="a2", active=False))
    with pytest.raises(DuplicateKeyError):
        await storage.db.applications.insert_one(dict(doc, _id="a3"))
    await storage.db.bookings.insert_one({"_id": "x", "session_id": "s", "user_id": 1})
    with pytest.raises(DuplicateKeyError):
        await storage.db.bookings.insert_one({"_id": "y", "session_id": "s", "user_id": 1})


async def test_registration_accepts_only_own_contact(storage: Storage, services: Services) -> None:
    user = await services.users.touch(42, "en-GB")
    assert (user.language, user.is_registered) == ("en", False)
    with pytest.raises(ValidationFailed) as error:
        await services.users.set_phone_from_contact(42, 43, "+79161234567")
    assert error.value.reason == "not_own_contact"
    with pytest.raises(ValidationFailed):
        await services.users.set_phone_from_contact(42, 42, "12345")
    await services.users.set_name(42, "  Анна   Иванова ")
    updated = await services.users.set_phone_from_contact(42, 42, "79161234567")
    assert updated.phone == "+79161234567"
    with pytest.raises(ValidationFailed):
        await services.users.complete_registration(42, consent=False)
    done = await services.users.complete_registration(42, consent=True)
    assert done.is_registered
    assert done.name == "Анна Иванова"
    assert (await services.users.touch(42, "ru")).language == "en"  # a second touch changes nothing


async def test_delete_my_data_erases_and_anonymises(storage: Storage, services: Services) -> None:
    await add_catalog(storage)
    await add_resident(storage, 8)
    submitted = await services.applications.submit(8, "d1-c00", "swim", "после 18:00")
    await services.users.delete_my_data(8)
    user = await storage.users.get(8)
    assert user is not None
    assert (user.name, user.phone, user.consent_at, user.is_registered) == (None, None, None, False)
    stored = await storage.applications.get(submitted.application.id)
    assert stored is not None
    assert (stored.applicant_name, stored.applicant_phone, stored.comment) == (None, None, None)
    assert stored.status is ApplicationStatus.PENDING  # history stays, anonymous
    with pytest.raises(ConsentRequired):
        await services.applications.submit(8, "d1-c00", "yoga")


async def test_application_rules(storage: Storage, services: Services) -> None:
    await add_catalog(storage, complexes=2)
    await add_resident(storage, 1)
    await add_resident(storage, 2, phone=None)
    await add_resident(storage, 3)
    with pytest.raises(PhoneRequired):
        await services.applications.submit(2, "d1-c00", "swim")
    with pytest.raises(ValidationFailed):
        await services.applications.submit(1, "d1-c00", "yoga")  # c00 has no yoga
    with pytest.raises(NotFound):
        await services.applications.submit(1, "nowhere", "swim")
    with pytest.raises(ValidationFailed):
        await services.applications.submit(1, "d1-c00", "swim", "x" * 501)
    first = await services.applications.submit(1, "d1-c00", "swim", "  ")
    assert first.created
    assert first.application.comment is None
    other_sport = await services.applications.submit(1, "d1-c01", "yoga")
    assert other_sport.created

    with pytest.raises(NotFound):  # another user's id behaves as if it did not exist
        await services.applications.cancel(3, first.application.id)
    cancelled = await services.applications.cancel(1, first.application.id)
    assert cancelled.status is ApplicationStatus.CANCELLED
    # Their own cancel delivered again answers alike and changes nothing.
    assert await services.applications.cancel(1, first.application.id) == cancelled
    again = await services.applications.submit(1, "d1-c00", "swim")
    assert again.created  # a cancelled application does not block a new one

    await add_staff(storage, 900, Role.ADMIN)
    blocked = await services.users.set_blocked(900, 3, True)
    assert blocked.blocked
    with pytest.raises(UserBlocked):
        await services.applications.submit(3, "d1-c00", "swim")


async def test_staff_scope_and_stale_buttons(storage: Storage, services: Services) -> None:
    await add_catalog(storage, complexes=2)
    await add_resident(storage, 1)
    await add_staff(storage, 700, Role.MANAGER, frozenset({"d1-c01"}))
    await add_staff(storage, 701, Role.MANAGER, frozenset({"d1-c00"}))
    app = (await services.applications.submit(1, "d1-c00", "swim")).application

    with pytest.raises(PermissionDenied):
        await services.applications.staff_transition(700, app.id, ApplicationStatus.ACCEPTED)
    with pytest.raises(PermissionDenied):  # a resident is not staff
        await services.applications.staff_transition(1, app.id, ApplicationStatus.ACCEPTED)
    inbox_other = await services.applications.inbox(700, PageRequest())
    assert inbox_other.total == 0
    inbox_own = await services.applications.inbox(701, PageRequest())
    assert [a.id for a in inbox_own.items] == [app.id]

    accepted = await services.applications.staff_transition(
        701,
        app.id,
        ApplicationStatus.ACCEPTED,
        expected_status=ApplicationStatus.PENDING,
        comment="ждём в понедельник",
    )
    with pytest.raises(StaleAction):  # the same button pressed again from an old message
        await services.applications.staff_transition(
            701, app.id, ApplicationStatus.REJECTED, expected_status=ApplicationStatus.PENDING
        )
    with pytest.raises(InvalidTransition):
        await services.applications.staff_transition(701, app.id, ApplicationStatus.COMPLETED)
    assert accepted.history[-1].comment == "ждём в понедельник"
    mine = await services.applications.get_for_user(1, app.id)
    assert [h.to_status for h in mine.history] == [
        ApplicationStatus.PENDING,
        ApplicationStatus.ACCEPTED,
    ]
    outbox = [d async for d in storage.db.outbox.find()]
    told = [(d["user_id"], d["payload"]) for d in outbox if d["kind"] == "application_status"]
    assert told == [(1, {"application_id": app.id, "status": "accepted"})]
    # Of the new application: its complex's manager only, not the other complex's.
    staff = [d["user_id"] for d in outbox if d["kind"] == "staff_new_application"]
    assert staff == [701]


async def test_catalog_paging_is_correct_on_every_page(
    storage: Storage, services: Services
) -> None:
    made = await add_catalog(storage, complexes=19)
    seen: list[str] = []
    page = 0
    while True:
        result = await services.catalog.complexes_in_district("d1", PageRequest(page=page, size=8))
        assert result.total == 19
        assert len(result.items) == (8 if page < 2 else 3)
        seen.extend(c.code for c in result.items)
        if not result.has_next:
            break
        page += 1
    assert seen == [c.code for c in made]
    past_end = await services.catalog.complexes_in_district("d1", PageRequest(page=7, size=8))
    assert [c.code for c in past_end.items] == seen[16:]  # a stale "next" shows the last page

    yoga = await services.catalog.search_by_sports(["yoga"], PageRequest(page=1, size=5))
    assert yoga.total == 9
    assert [c.code for c in yoga.items] == [c.code for c in made if "yoga" in c.sports][5:]
    both = await services.catalog.search_by_sports(["yoga", "swim"], PageRequest(size=100))
    assert both.total == 19
    with pytest.raises(ValidationFailed):
        await services.catalog.search_by_sports([], PageRequest())
    with pytest.raises(NotFound):
        await services.catalog.complexes_in_district("nowhere", PageRequest())
    near = await services.catalog.nearest(GeoPoint(56.3, 44.0), limit=3)
    assert [n.complex.code for n in near] == ["d1-c00", "d1-c01", "d1-c02"]


async def test_seed_import_export_round_trip(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    document = json.loads(SEED.read_text(encoding="utf-8"))
    report = await import_catalog(document, storage.catalog, storage.sessions)
    assert (report.districts, report.complexes) == (
        len(document["districts"]),
        len(document["complexes"]),
    )
    exported = await export_catalog(storage.catalog, storage.sessions)
    assert await import_catalog(exported, storage.catalog, storage.sessions) == report
    assert await storage.db.complexes.count_documents({}) == len(document["complexes"])
    assert await storage.db.session_templates.count_documents({}) == len(
        document["session_templates"]
    )
    by_code = {c["code"]: c for c in exported["complexes"]}
    for original in document["complexes"]:
        mine = by_code[original["code"]]
        for key in ("name", "district", "address", "sports", "phone", "hours", "location"):
            assert mine[key] == original[key], (original["code"], key)

    created = await services.schedule.generate(date(2026, 11, 23), 7)
    assert created == len(document["session_templates"])  # every template once in 7 days
    assert await services.schedule.generate(date(2026, 11, 23), 7) == 0
    some = document["session_templates"][0]
    day = date(2026, 11, 23) + timedelta(days=some["weekday"])
    sessions = await services.schedule.day(some["complex"], day, some["sport"])
    assert any(s.local_start("Europe/Moscow").strftime("%H:%M") == some["start"] for s in sessions)


async def test_bad_catalog_file_changes_nothing(storage: Storage) -> None:
    document = json.loads(SEED.read_text(encoding="utf-8"))
    document["session_templates"][-1]["sport"] = "no-such-sport"
    with pytest.raises(ValidationFailed):
        await import_catalog(document, storage.catalog, storage.sessions)
    assert await storage.db.complexes.count_documents({}) == 0
    assert await storage.db.districts.count_documents({}) == 0


async def test_booking_windows(storage: Storage, services: Services, clock: FakeClock) -> None:
    await add_catalog(storage)
    session = await add_session(storage, capacity=5, hours_ahead=10)
    await add_resident(storage, 1)
    outcome = await services.bookings.book(1, session.id)
    assert outcome.booked
    clock.advance(timedelta(hours=7, minutes=1))  # 2h59m before the start, window is 3 h
    with pytest.raises(CancellationWindowClosed):
        await services.bookings.cancel(1, outcome.booking.id)
    clock.advance(timedelta(hours=3))
    with pytest.raises(SessionUnavailable):
        await services.bookings.book(1, session.id)
    with pytest.raises(NotFound):
        await services.bookings.cancel(2, outcome.booking.id)


async def test_reminders_are_claimed_once(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await add_catalog(storage)
    sessions = [
        await add_session(storage, session_id=f"{n:024d}", hours_ahead=30) for n in range(6)
    ]
    await add_resident(storage, 1)
    for s in sessions:
        await services.bookings.book(1, s.id)
    cancelled = await services.bookings.cancel(1, f"{sessions[0].id}:1")
    assert cancelled.status is BookingStatus.CANCELLED
    assert await services.reminders.claim_due() == []
    clock.advance(timedelta(hours=29))  # both kinds due for the five remaining bookings
    claims = await asyncio.gather(*(services.reminders.claim_due(limit=4) for _ in range(4)))
    ids = [r.id for claim in claims for r in claim]
    assert len(ids) == len(set(ids)) == 10
    assert all(sessions[0].id not in i for i in ids)
    first = claims[0][0]
    await services.reminders.retry_later(
        first, at=clock.now() + timedelta(seconds=1), error="429", failure=False
    )
    assert [r.id for r in await services.reminders.claim_due()] == []  # not before then
    clock.advance(timedelta(seconds=1))
    again = await services.reminders.claim_due()
    assert [r.id for r in again] == [first.id]
    assert again[0].attempts == 1


async def test_roles_only_by_super_admin(storage: Storage, services: Services) -> None:
    await add_catalog(storage)
    await add_staff(storage, 1, Role.SUPER_ADMIN)
    await add_staff(storage, 2, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        await services.users.set_role(2, 3, Role.ADMIN)
    with pytest.raises(ValidationFailed):
        await services.users.set_role(1, 3, Role.ADMIN, frozenset({"d1-c00"}))
    with pytest.raises(NotFound):
        await services.users.set_role(1, 3, Role.MANAGER, frozenset({"nope"}))
    manager = await services.users.set_role(1, 3, Role.MANAGER, frozenset({"d1-c00"}))
    assert manager.role is Role.MANAGER
    assert manager.managed_complexes == frozenset({"d1-c00"})
    with pytest.raises(PermissionDenied):
        await services.users.set_blocked(2, 1, True)  # an admin cannot block a super admin
    audit = await storage.audit.recent(PageRequest())
    assert [e.action for e in audit.items] == ["user.role"]
    assert audit.items[0].at >= NOW
