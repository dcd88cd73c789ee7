"""Who may do what on the staff side: every staff action, attempted as each kind of person.

One row per action (:data:`CASES`): how it is attempted through the bot, who may do it, and the
audit entry it leaves when allowed (``None``: it only reads). For every row and every actor:

* allowed: not refused, and exactly the expected audit entry, by that person, is added (a read
  adds none and changes nothing stored);
* denied: the refusal «❌ У вас нет прав…» (an alert on a button, a message on a command), and
  nothing stored changes at all (users, applications, bookings, audit log, outbox).

Buttons are pressed with forged callback data, since a person who may not act is never shown
the button. To add an action, add a row (and, if it needs one, an object to :class:`World`).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import time, timedelta
from typing import Any

import pytest

from bot.domain.applications import Application
from bot.domain.bookings import booking_id
from bot.domain.broadcasts import AudienceKind, Broadcast
from bot.domain.catalog import Sport
from bot.domain.i18n import LocalizedText
from bot.domain.sessions import Session, WeeklyTemplate
from bot.domain.users import Role
from bot.services.broadcasts import reference as broadcast_ref
from bot.services.catalog_io import template_id
from bot.services.users import complex_reference
from bot.telegram.actions import (
    StaffAction,
    StaffApplicationAction,
    StaffAuditAction,
    StaffBroadcastAction,
    StaffCatalogAction,
    StaffExportAction,
    StaffReportAction,
    StaffSessionAction,
    StaffStatsAction,
    StaffUserAction,
)
from bot.telegram.callbacks import sport_ref
from bot.telegram.texts import t
from tests.handlers.harness import OLIMP, VODNIK, BotHarness, Person, Reply
from tests.handlers.staff.conftest import make_staff

DENIED = t("ru", "error.permission_denied")
assert DENIED == "❌ У вас нет прав для выполнения этого действия."

RESIDENT = "resident"
OTHER_MANAGER = "manager of another complex"
MANAGER = "manager of this complex"
ADMIN = "admin"
SUPER_ADMIN = "super admin"
ACTORS = (RESIDENT, OTHER_MANAGER, MANAGER, ADMIN, SUPER_ADMIN)

STAFF = frozenset({OTHER_MANAGER, MANAGER, ADMIN, SUPER_ADMIN})
THIS_COMPLEX = frozenset({MANAGER, ADMIN, SUPER_ADMIN})
ADMINS = frozenset({ADMIN, SUPER_ADMIN})
SUPER_ADMINS = frozenset({SUPER_ADMIN})


@dataclass
class World:
    """What the actions act on: a pending application at Олимп, a resident, a blocked resident
    and a manager (of Водник) to assign complexes to; and one person of each kind."""

    harness: BotHarness
    actors: dict[str, Person]
    application: Application
    resident: Person
    blocked: Person
    manager: Person
    # Sessions and the catalog: a session at Олимп starting in half an hour (attendance is open)
    # with one person booked, a weekly slot there, and an unused sport.
    session: Session
    booked: Person
    template: WeeklyTemplate
    # A broadcast to Олимп's residents by its manager, queued (not sent yet).
    broadcast: Broadcast | None = None


async def build_world(harness: BotHarness) -> World:
    actors = {
        RESIDENT: await harness.resident("Жанна"),
        OTHER_MANAGER: await make_staff(harness, "Олег", Role.MANAGER, frozenset({VODNIK})),
        MANAGER: await make_staff(harness, "Ольга", Role.MANAGER, frozenset({OLIMP})),
        ADMIN: await make_staff(harness, "Иван", Role.ADMIN),
        SUPER_ADMIN: await make_staff(harness, "София", Role.SUPER_ADMIN),
    }
    anna = await harness.resident("Анна")
    application = (await harness.services.applications.submit(anna.id, OLIMP, "yoga")).application
    blocked = await harness.resident("Борис")
    stored = await harness.storage.users.get(blocked.id)
    assert stored is not None
    await harness.storage.users.save(replace(stored, blocked=True))
    manager = await make_staff(harness, "Марина", Role.MANAGER, frozenset({VODNIK}))
    session = await harness.add_session(
        starts_at=harness.clock.now() + timedelta(minutes=30), capacity=5, title=""
    )
    booked = await harness.resident("Вера")
    await harness.services.bookings.book(booked.id, session.id)
    template = WeeklyTemplate(
        template_id(OLIMP, "yoga", 4, time(19, 0)), OLIMP, "yoga", 4, time(19, 0), 60, 10
    )
    await harness.storage.sessions.upsert_template(template)
    await harness.storage.catalog.upsert_sport(Sport("curling", LocalizedText.of("Кёрлинг")))
    world = World(harness, actors, application, anna, blocked, manager, session, booked, template)
    world.broadcast = await queued_broadcast(harness, actors[MANAGER])
    return world


Act = Callable[[World, Person], Awaitable[Reply]]


@dataclass(frozen=True)
class Case:
    name: str
    act: Act
    allowed: frozenset[str]
    audit: str | None = None  # the audit action an allowed attempt records


def refused(reply: Reply) -> bool:
    if reply.calls_of("answerCallbackQuery"):
        return reply.alert == DENIED and reply.is_alert
    return reply.screen is not None and reply.text == DENIED


async def press(person: Person, data: str) -> Reply:
    """Press a button with ``data`` on a fresh message of the person's own chat."""
    return await person.press_data(await person.say("/menu"), data)


async def then_type(first: Reply, person: Person, text: str) -> Reply:
    """A button that asks for text, then the text (unless the button was refused)."""
    return first if refused(first) else await person.say(text)


def button(data: str) -> Act:
    async def act(world: World, person: Person) -> Reply:
        return await press(person, data)

    return act


def app_button(make: Callable[[Application], str]) -> Act:
    async def act(world: World, person: Person) -> Reply:
        return await press(person, make(world.application))

    return act


def user_button(make: Callable[[World], str]) -> Act:
    async def act(world: World, person: Person) -> Reply:
        return await press(person, make(world))

    return act


async def admin_command(world: World, person: Person) -> Reply:
    return await person.say("/admin")


async def accept_with_comment(world: World, person: Person) -> Reply:
    a = world.application
    asked = await press(person, StaffApplicationAction.ASK.data(a.id, "a", a.version))
    return await then_type(asked, person, "Ждём вас в понедельник")


async def search_applications(world: World, person: Person) -> Reply:
    return await then_type(await press(person, StaffApplicationAction.SEARCH.data()), person, "№ 1")


async def search_users(world: World, person: Person) -> Reply:
    return await then_type(await press(person, StaffUserAction.SEARCH.data()), person, "Анна")


async def block(world: World, person: Person) -> Reply:
    asked = await press(person, StaffUserAction.BLOCK.data(world.resident.id, "1"))
    return await then_type(asked, person, "спам")


async def unblock(world: World, person: Person) -> Reply:
    asked = await press(person, StaffUserAction.BLOCK.data(world.blocked.id, "0"))
    return await then_type(asked, person, "разобрались")


# --- sessions and the catalog (bot/telegram/staff/sessions.py, catalog.py) ------------------

SS = StaffSessionAction
SC = StaffCatalogAction


def session_button(make: Callable[[World], str]) -> Act:
    return user_button(make)


async def create_one_off(world: World, person: Person) -> Reply:
    sports = await press(person, SS.NEW.data(OLIMP, "o"))
    if refused(sports):
        return sports
    await person.press(sports, "Йога")
    for answer in ("25.11", "10:00", "60"):
        await person.say(answer)
    confirm = await person.say("12")
    return await person.press(confirm, "Создать")


async def save_weekly(world: World, person: Person) -> Reply:
    sports = await press(person, SS.NEW.data(OLIMP, "w"))
    if refused(sports):
        return sports
    await person.press(await person.press(sports, "Плавание"), "сб")
    await person.say("09:00")
    await person.say("45")
    return await person.press(await person.say("8"), "Создать")


async def check_in(world: World, person: Person) -> Reply:
    asked = await press(person, SS.CHECKIN.data(world.session.id))
    booking = await world.harness.storage.bookings.get(
        booking_id(world.session.id, world.booked.id)
    )
    assert booking is not None
    assert booking.checkin_code is not None
    return await then_type(asked, person, booking.checkin_code)


async def change_seats(world: World, person: Person) -> Reply:
    return await then_type(await press(person, SS.CAPACITY.data(world.session.id)), person, "20")


async def cancel_session(world: World, person: Person) -> Reply:
    asked = await press(person, SS.CANCEL.data(world.session.id))
    confirm = await then_type(asked, person, "Зал на ремонте")
    return confirm if refused(confirm) else await person.press(confirm, "Да, отменить")


async def edit_phone(world: World, person: Person) -> Reply:
    asked = await press(person, SC.FIELD.data(OLIMP, "ph"))
    return await then_type(asked, person, "+7 831 111-22-33")


async def hide_complex(world: World, person: Person) -> Reply:
    confirm = await then_type(await press(person, SC.HIDE.data(VODNIK)), person, "Ремонт кровли")
    return confirm if refused(confirm) else await person.press(confirm, "Да, скрыть")


async def create_complex(world: World, person: Person) -> Reply:
    asked = await press(person, SC.NEW.data())
    if refused(asked):
        return asked
    district = await person.say("ФОК «Новый»")
    await person.press(district, "Советский")
    sports = await person.say("ул. Новая, 1")
    return await person.press(await person.press(sports, "Бокс"), "Создать ФОК")


async def create_district(world: World, person: Person) -> Reply:
    return await then_type(await press(person, SC.NEW_DISTRICT_NAME.data()), person, "Сормовский")


async def rename_district(world: World, person: Person) -> Reply:
    asked = await press(person, SC.RENAME_DISTRICT.data("sovetsky"))
    return await then_type(asked, person, "Советский район")


async def create_sport(world: World, person: Person) -> Reply:
    return await then_type(await press(person, SC.NEW_SPORT_NAME.data()), person, "Скалолазание")


async def sport_icon(world: World, person: Person) -> Reply:
    return await then_type(await press(person, SC.EDIT_SPORT.data("curling", "icon")), person, "🥌")


SESSION_AND_CATALOG_CASES: tuple[Case, ...] = (
    Case("the sessions' complexes", button(SS.COMPLEXES.data(0)), STAFF),
    Case("a complex's coming sessions", button(SS.SCHEDULE.data(OLIMP, 0)), THIS_COMPLEX),
    Case("start setting up a session", button(SS.NEW.data(OLIMP, "o")), THIS_COMPLEX),
    Case("create a one-off session", create_one_off, THIS_COMPLEX, "session.create"),
    Case("save a weekly slot", save_weekly, THIS_COMPLEX, "template.save"),
    Case("the weekly slots", button(SS.TEMPLATES.data(OLIMP)), THIS_COMPLEX),
    Case(
        "stop a weekly slot",
        session_button(lambda w: SS.TEMPLATE.data(w.template.id, "0")),
        THIS_COMPLEX,
        "template.active",
    ),
    Case(
        "who is booked on a session",
        session_button(lambda w: SS.SESSION.data(w.session.id, 0)),
        THIS_COMPLEX,
    ),
    Case(
        "the waitlist of a session",
        session_button(lambda w: SS.WAITLIST.data(w.session.id)),
        THIS_COMPLEX,
    ),
    Case(
        "mark a person present",
        session_button(lambda w: SS.ATTEND.data(booking_id(w.session.id, w.booked.id), "y", 0)),
        THIS_COMPLEX,
        "booking.attendance",
    ),
    Case(
        "everyone came",
        session_button(lambda w: SS.ALL_CAME.data(w.session.id)),
        THIS_COMPLEX,
        "session.all_attended",
    ),
    Case("check in by code", check_in, THIS_COMPLEX, "booking.attendance"),
    Case("change the seats", change_seats, THIS_COMPLEX, "session.capacity"),
    Case("cancel a session", cancel_session, THIS_COMPLEX, "session.cancel"),
    Case("the catalog", button(SC.HOME.data()), STAFF),
    Case("the catalog's complexes", button(SC.COMPLEXES.data(0)), STAFF),
    Case("a complex's card", button(SC.COMPLEX.data(OLIMP)), THIS_COMPLEX),
    Case("edit a complex's phone", edit_phone, THIS_COMPLEX, "complex.update"),
    Case(
        "move a complex to a district",
        button(SC.SET_DISTRICT.data(OLIMP, sport_ref("leninsky"))),
        THIS_COMPLEX,
        "complex.update",
    ),
    Case(
        "add a sport to a complex",
        button(SC.TOGGLE_SPORT.data(OLIMP, sport_ref("chess"))),
        THIS_COMPLEX,
        "complex.update",
    ),
    Case("hide a complex", hide_complex, ADMINS, "complex.hide"),
    Case("show a hidden complex", button(SC.SHOW.data("fok-closed")), ADMINS, "complex.show"),
    Case("start a new complex", button(SC.NEW.data()), ADMINS),
    Case("create a complex", create_complex, ADMINS, "complex.create"),
    Case("the districts", button(SC.DISTRICTS.data()), ADMINS),
    Case("create a district", create_district, ADMINS, "district.create"),
    Case("rename a district", rename_district, ADMINS, "district.update"),
    Case(
        "hide a district",
        button(SC.DISTRICT_ACTIVE.data("sovetsky", "0")),
        ADMINS,
        "district.hide",
    ),
    Case("the sports", button(SC.SPORTS.data()), ADMINS),
    Case("create a sport", create_sport, ADMINS, "sport.create"),
    Case("set a sport's icon", sport_icon, ADMINS, "sport.update"),
    Case("hide a sport", button(SC.SPORT_ACTIVE.data("curling", "0")), ADMINS, "sport.hide"),
)

# --- statistics and exports (bot/telegram/staff/stats.py, exports.py) ----------------------

ST = StaffStatsAction
REPORT_CASES: tuple[Case, ...] = (
    Case("the statistics", button(ST.VIEW.data("m", "-")), STAFF, "stats.view"),
    Case(
        "the statistics of one complex",
        button(ST.VIEW.data("w", complex_reference(OLIMP))),
        THIS_COMPLEX,
        "stats.view",
    ),
    Case("the statistics' complexes", button(ST.SCOPE.data("m")), STAFF),
    Case("the statistics chart", button(ST.CHART.data("m", "-")), STAFF, "stats.view"),
    Case("the exports", button(StaffExportAction.MENU.data("m", "-")), STAFF),
    Case(
        "export the applications of a complex",
        button(StaffExportAction.RUN.data("a", "m", complex_reference(OLIMP))),
        THIS_COMPLEX,
        "export.applications",
    ),
    Case(
        "export the bookings of a complex",
        button(StaffExportAction.RUN.data("b", "m", complex_reference(OLIMP))),
        THIS_COMPLEX,
        "export.bookings",
    ),
)


async def queued_broadcast(harness: BotHarness, author: Person) -> Broadcast:
    """A broadcast the manager of Олимп sent on its way to Олимп's residents."""
    broadcasts = harness.services.broadcasts
    preview = await broadcasts.audience(author.id, AudienceKind.COMPLEX, broadcast_ref(OLIMP))
    draft = await broadcasts.compose(author.id, preview.audience, "Бассейн закрыт")
    return await broadcasts.confirm(author.id, draft.id, author.id, 1)


def broadcast_button(make: Callable[[Broadcast], str]) -> Act:
    async def act(world: World, person: Person) -> Reply:
        assert world.broadcast is not None
        return await press(person, make(world.broadcast))

    return act


async def compose_broadcast(world: World, person: Person) -> Reply:
    asked = await press(person, StaffBroadcastAction.COMPLEX.data(broadcast_ref(OLIMP)))
    return await then_type(asked, person, "Завтра бассейн не работает")


BROADCAST_AUTHOR_OR_ADMIN = frozenset({MANAGER, ADMIN, SUPER_ADMIN})  # the author is MANAGER
BROADCAST_CASES: tuple[Case, ...] = (
    Case("the broadcasts screen", button(StaffBroadcastAction.HOME.data()), STAFF),
    Case("write to every resident", button(StaffBroadcastAction.EVERYONE.data()), ADMINS),
    Case(
        "write to a complex's residents",
        button(StaffBroadcastAction.COMPLEX.data(broadcast_ref(OLIMP))),
        THIS_COMPLEX,
    ),
    Case(
        "write to a sport's residents at the manager's complexes",
        button(StaffBroadcastAction.SPORT.data(broadcast_ref("yoga"))),
        THIS_COMPLEX,
    ),
    Case(
        "write to the people of a session",
        lambda w, p: press(p, StaffBroadcastAction.SESSION.data(w.session.id)),
        THIS_COMPLEX,
    ),
    Case(
        "a complex's sessions to write to",
        button(StaffBroadcastAction.SESSIONS.data(broadcast_ref(OLIMP), 0)),
        THIS_COMPLEX,
    ),
    Case("compose a broadcast", compose_broadcast, THIS_COMPLEX, "broadcast.draft"),
    Case("the broadcasts sent", button(StaffBroadcastAction.LIST.data(0)), STAFF),
    Case(
        "a broadcast's card",
        broadcast_button(lambda b: StaffBroadcastAction.CARD.data(b.id)),
        BROADCAST_AUTHOR_OR_ADMIN,
    ),
    Case(
        "stop a broadcast",
        broadcast_button(lambda b: StaffBroadcastAction.CANCEL.data(b.id)),
        BROADCAST_AUTHOR_OR_ADMIN,
        "broadcast.cancelled",
    ),
)

WEEKLY_REPORT_CASES: tuple[Case, ...] = (
    Case("the weekly report screen", button(StaffReportAction.VIEW.data()), STAFF),
    Case(
        "turn one's weekly report off",
        button(StaffReportAction.TOGGLE.data("0")),
        STAFF,
        "report.weekly_off",
    ),
    Case(
        "last week's report now",
        button(StaffReportAction.NOW.data()),
        STAFF,
        "report.weekly_built",
    ),
)


CASES: tuple[Case, ...] = (
    Case("open the panel by /admin", admin_command, STAFF),
    Case("open the panel by its button", button(StaffAction.HUB.data()), STAFF),
    Case("the applications menu", button(StaffApplicationAction.MENU.data()), STAFF),
    Case("list pending applications", button(StaffApplicationAction.LIST.data("p", 0)), STAFF),
    Case("list all applications", button(StaffApplicationAction.LIST.data("all", 0)), STAFF),
    Case("search applications", search_applications, STAFF),
    Case(
        "open the card", app_button(lambda a: StaffApplicationAction.CARD.data(a.id)), THIS_COMPLEX
    ),
    Case(
        "ask to accept",
        app_button(lambda a: StaffApplicationAction.ASK.data(a.id, "a", a.version)),
        THIS_COMPLEX,
    ),
    Case("accept with a comment", accept_with_comment, THIS_COMPLEX, "application.accepted"),
    Case(
        "reject without a comment",
        app_button(lambda a: StaffApplicationAction.DECIDE.data(a.id, "r", a.version)),
        THIS_COMPLEX,
        "application.rejected",
    ),
    Case("search users", search_users, ADMINS),
    Case("ask whom to search", button(StaffUserAction.SEARCH.data()), ADMINS),
    Case(
        "open a user's card",
        user_button(lambda w: StaffUserAction.CARD.data(w.resident.id)),
        ADMINS,
    ),
    Case("block with a reason", block, ADMINS, "user.block"),
    Case("unblock with a reason", unblock, ADMINS, "user.unblock"),
    Case(
        "choose a role",
        user_button(lambda w: StaffUserAction.ROLE.data(w.resident.id)),
        SUPER_ADMINS,
    ),
    Case(
        "grant a role",
        user_button(lambda w: StaffUserAction.SET_ROLE.data(w.resident.id, "ad")),
        SUPER_ADMINS,
        "user.role",
    ),
    Case(
        "revoke a role",
        user_button(lambda w: StaffUserAction.SET_ROLE.data(w.manager.id, "-")),
        SUPER_ADMINS,
        "user.role",
    ),
    Case(
        "a manager's complexes",
        user_button(lambda w: StaffUserAction.COMPLEXES.data(w.manager.id, 0)),
        SUPER_ADMINS,
    ),
    Case(
        "assign a complex to a manager",
        user_button(
            lambda w: StaffUserAction.ASSIGN.data(w.manager.id, complex_reference(OLIMP), "1", 0)
        ),
        SUPER_ADMINS,
        "user.role",
    ),
    Case("the audit log", button(StaffAuditAction.LOG.data("-", "-", "-", 0)), SUPER_ADMINS),
    Case(
        "the audit log of one object",
        app_button(lambda a: StaffAuditAction.LOG.data("-", "a", a.id, 0)),
        SUPER_ADMINS,
    ),
    Case("filter the log by staff member", button(StaffAuditAction.BY_STAFF.data()), SUPER_ADMINS),
    Case("filter the log by object", button(StaffAuditAction.BY_OBJECT.data()), SUPER_ADMINS),
    *SESSION_AND_CATALOG_CASES,
    *REPORT_CASES,
    *BROADCAST_CASES,
    *WEEKLY_REPORT_CASES,
)


def stored(harness: BotHarness) -> dict[str, Any]:
    """Everything the staff side could change, as comparable values."""
    storage = harness.storage
    return copy.deepcopy(
        {
            "users": sorted(storage.users.all(), key=lambda u: u.telegram_id),
            "applications": sorted(storage.applications.all(), key=lambda a: a.id),
            "bookings": sorted(storage.bookings.all(), key=lambda b: b.id),
            "audit": storage.audit.all(),
            "outbox": [(n.key, n.status) for n in storage.outbox.entries()],
            "sessions": sorted(storage.sessions.all(), key=lambda s: s.id),
            "templates": storage.sessions.all_templates(),
            "catalog": storage.catalog.all(),
            "reminders": sorted(storage.reminders.all(), key=lambda r: r.id),
            "broadcasts": storage.broadcasts.all(),
            "staff_preferences": storage.staff_preferences.all(),
        }
    )


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_staff_action(harness: BotHarness, case: Case, actor: str) -> None:
    world = await build_world(harness)
    person = world.actors[actor]
    before = stored(harness)
    audit_before = len(harness.storage.audit.all())

    reply = await case.act(world, person)

    if actor not in case.allowed:
        assert refused(reply), f"{case.name} as {actor}: {reply.alert or reply.text!r}"
        assert stored(harness) == before, f"{case.name} as {actor} changed something"
        return
    assert not refused(reply), f"{case.name} as {actor} was refused"
    added = harness.storage.audit.all()[audit_before:]
    if case.audit is None:
        assert stored(harness) == before, f"{case.name} only reads"
    else:
        assert [(e.actor_id, e.action) for e in added] == [(person.id, case.audit)]


def test_every_actor_is_both_allowed_and_refused_somewhere() -> None:
    """The matrix tells the kinds of people apart (no actor is allowed everything but a super
    admin, nobody but a resident is refused everything)."""
    for actor in ACTORS:
        allowed = [case.name for case in CASES if actor in case.allowed]
        if actor == SUPER_ADMIN:
            assert len(allowed) == len(CASES)
        elif actor == RESIDENT:
            assert allowed == []
        else:
            assert 0 < len(allowed) < len(CASES), actor
