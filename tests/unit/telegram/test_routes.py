"""Typed routes: every declared action encodes and decodes within 64 bytes and has a handler; a
missing, colliding or malformed route fails when the application is built; forged data is
refused at a press; dialog inputs reach the feature that claims the step."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace
from typing import Any, cast

import pytest
from telegram import Bot

from bot.domain.bookings import booking_id
from bot.domain.ids import new_id
from bot.services.container import Services
from bot.services.ports.ephemeral import DialogState
from bot.telegram import applications, catalog, dialog, profile, routing, sessions, start
from bot.telegram.actions import (
    ApplicationAction,
    CatalogAction,
    HelpAction,
    MenuAction,
    ProfileAction,
    SessionAction,
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
    StartAction,
)
from bot.telegram.application import build_application, feature_routes
from bot.telegram.callbacks import (
    MAX_BYTES,
    Action,
    Callback,
    OutdatedButton,
    day_ref,
    decode,
    sport_ref,
)
from bot.telegram.context import FokContext
from bot.telegram.routing import ANY_STEP, Router, Routes, RoutingError, Step
from bot.telegram.texts import t

LONGEST_CODE = "a" * 48  # the catalog schema allows codes of up to 48 characters
LARGEST_USER_ID = 10**15 - 1  # far above any Telegram user id today
LAST_DAY = day_ref(date(2096, 12, 31))
MAX_PAGE = 1000
BOOKING = booking_id(new_id(), LARGEST_USER_ID)

# The longest arguments each action is ever drawn with. A new action must be added here, so its
# worst case is measured against Telegram's 64 bytes before it ships.
LONGEST_ARGS: dict[Action, tuple[str | int, ...]] = {
    StartAction.CONSENT_GIVEN: (),
    StartAction.CONSENT_REFUSED: (),
    MenuAction.OPEN: (),
    HelpAction.OPEN: (),
    CatalogAction.DISTRICTS: (MAX_PAGE,),
    CatalogAction.DISTRICT: (LONGEST_CODE, MAX_PAGE),
    CatalogAction.CARD: (LONGEST_CODE,),
    CatalogAction.MAP: (LONGEST_CODE,),
    CatalogAction.SEARCH: (),
    CatalogAction.TOGGLE_SPORT: (LONGEST_CODE,),
    CatalogAction.CLEAR_SPORTS: (),
    CatalogAction.SEARCH_RESULTS: (MAX_PAGE,),
    CatalogAction.NEAREST: (),
    ApplicationAction.NEW: (LONGEST_CODE,),
    ApplicationAction.SPORT: (LONGEST_CODE, sport_ref(LONGEST_CODE)),
    ApplicationAction.SUBMIT: (LONGEST_CODE, sport_ref(LONGEST_CODE)),
    ApplicationAction.LIST: (MAX_PAGE,),
    ApplicationAction.VIEW: (new_id(),),
    ApplicationAction.CANCEL: (new_id(),),
    ApplicationAction.CONFIRM_CANCEL: (new_id(), "a"),
    SessionAction.DAY: (LONGEST_CODE, LAST_DAY, sport_ref(LONGEST_CODE)),
    SessionAction.SESSION: (new_id(),),
    SessionAction.BOOK: (new_id(),),
    SessionAction.MINE: (MAX_PAGE,),
    SessionAction.BOOKING: (BOOKING,),
    SessionAction.CANCEL: (BOOKING,),
    SessionAction.REMINDER_CANCEL: (BOOKING,),
    SessionAction.CONFIRM_CANCEL: (BOOKING,),
    SessionAction.CALENDAR: (BOOKING,),
    SessionAction.ACCEPT_OFFER: (BOOKING,),
    SessionAction.DECLINE_OFFER: (BOOKING,),
    SessionAction.REMINDER_CONFIRM: (BOOKING,),
    ProfileAction.VIEW: (),
    ProfileAction.NAME: (),
    ProfileAction.PHONE: (),
    ProfileAction.LANGUAGE: ("en",),
    ProfileAction.TOGGLE: ("r",),
    ProfileAction.DELETE: (),
    ProfileAction.CONFIRM_DELETE: (),
    # staff
    StaffAction.HUB: (),
    StaffApplicationAction.MENU: (),
    StaffApplicationAction.LIST: ("all", MAX_PAGE),
    StaffApplicationAction.CARD: (new_id(),),
    StaffApplicationAction.ASK: (new_id(), "t", 10_000),
    StaffApplicationAction.DECIDE: (new_id(), "t", 10_000),
    StaffApplicationAction.SEARCH: (),
    StaffApplicationAction.RESULTS: (MAX_PAGE,),
    StaffUserAction.SEARCH: (),
    StaffUserAction.RESULTS: (MAX_PAGE,),
    StaffUserAction.CARD: (LARGEST_USER_ID,),
    StaffUserAction.BLOCK: (LARGEST_USER_ID, "1"),
    StaffUserAction.ROLE: (LARGEST_USER_ID,),
    StaffUserAction.SET_ROLE: (LARGEST_USER_ID, "sa"),
    StaffUserAction.COMPLEXES: (LARGEST_USER_ID, MAX_PAGE),
    StaffUserAction.ASSIGN: (LARGEST_USER_ID, "abcdef", "1", MAX_PAGE),
    StaffAuditAction.LOG: (LARGEST_USER_ID, "a", new_id(), MAX_PAGE),
    StaffAuditAction.BY_STAFF: (),
    StaffAuditAction.BY_OBJECT: (),
    StaffStatsAction.VIEW: ("pm", "abcdef"),
    StaffStatsAction.SCOPE: ("pm",),
    StaffStatsAction.CHART: ("pm", "abcdef"),
    StaffExportAction.MENU: ("pm", "abcdef"),
    StaffExportAction.RUN: ("b", "pm", "abcdef"),
    StaffSessionAction.COMPLEXES: (MAX_PAGE,),
    StaffSessionAction.SCHEDULE: (LONGEST_CODE, MAX_PAGE),
    StaffSessionAction.NEW: (LONGEST_CODE, "w"),
    StaffSessionAction.SPORT: (sport_ref(LONGEST_CODE),),
    StaffSessionAction.WEEKDAY: (6,),
    StaffSessionAction.DURATION: (720,),
    StaffSessionAction.CREATE: (),
    StaffSessionAction.ABORT: (),
    StaffSessionAction.TEMPLATES: (LONGEST_CODE,),
    StaffSessionAction.TEMPLATE: (new_id(), "1"),
    StaffSessionAction.SESSION: (new_id(), MAX_PAGE),
    StaffSessionAction.ATTEND: (BOOKING, "y", MAX_PAGE),
    StaffSessionAction.ALL_CAME: (new_id(),),
    StaffSessionAction.CHECKIN: (new_id(),),
    StaffSessionAction.WAITLIST: (new_id(),),
    StaffSessionAction.CAPACITY: (new_id(),),
    StaffSessionAction.CANCEL: (new_id(),),
    StaffSessionAction.CONFIRM_CANCEL: (new_id(),),
    StaffCatalogAction.HOME: (),
    StaffCatalogAction.COMPLEXES: (MAX_PAGE,),
    StaffCatalogAction.COMPLEX: (LONGEST_CODE,),
    StaffCatalogAction.FIELD: (LONGEST_CODE, "wh"),
    StaffCatalogAction.DISTRICT_PICK: (LONGEST_CODE,),
    StaffCatalogAction.SET_DISTRICT: (LONGEST_CODE, sport_ref(LONGEST_CODE)),
    StaffCatalogAction.SPORTS_PICK: (LONGEST_CODE,),
    StaffCatalogAction.TOGGLE_SPORT: (LONGEST_CODE, sport_ref(LONGEST_CODE)),
    StaffCatalogAction.HIDE: (LONGEST_CODE,),
    StaffCatalogAction.CONFIRM_HIDE: (LONGEST_CODE,),
    StaffCatalogAction.SHOW: (LONGEST_CODE,),
    StaffCatalogAction.NEW: (),
    StaffCatalogAction.NEW_DISTRICT: (sport_ref(LONGEST_CODE),),
    StaffCatalogAction.NEW_SPORT: (sport_ref(LONGEST_CODE),),
    StaffCatalogAction.NEW_DONE: (),
    StaffCatalogAction.ABORT: (),
    StaffCatalogAction.DISTRICTS: (),
    StaffCatalogAction.DISTRICT: (LONGEST_CODE,),
    StaffCatalogAction.NEW_DISTRICT_NAME: (),
    StaffCatalogAction.RENAME_DISTRICT: (LONGEST_CODE,),
    StaffCatalogAction.DISTRICT_ACTIVE: (LONGEST_CODE, "1"),
    StaffCatalogAction.SPORTS: (),
    StaffCatalogAction.SPORT: (LONGEST_CODE,),
    StaffCatalogAction.NEW_SPORT_NAME: (),
    StaffCatalogAction.EDIT_SPORT: (LONGEST_CODE, "icon"),
    StaffCatalogAction.SPORT_ACTIVE: (LONGEST_CODE, "1"),
    StaffBroadcastAction.HOME: (),
    StaffBroadcastAction.EVERYONE: (),
    StaffBroadcastAction.COMPLEXES: (MAX_PAGE,),
    StaffBroadcastAction.COMPLEX: ("abcdef",),
    StaffBroadcastAction.SPORTS: (MAX_PAGE,),
    StaffBroadcastAction.SPORT: ("abcdef",),
    StaffBroadcastAction.SESSION_COMPLEXES: (MAX_PAGE,),
    StaffBroadcastAction.SESSIONS: ("abcdef", MAX_PAGE),
    StaffBroadcastAction.SESSION: (new_id(),),
    StaffBroadcastAction.SEND: (new_id(),),
    StaffBroadcastAction.EDIT: (new_id(),),
    StaffBroadcastAction.DISCARD: (new_id(),),
    StaffBroadcastAction.CANCEL: (new_id(),),
    StaffBroadcastAction.LIST: (MAX_PAGE,),
    StaffBroadcastAction.CARD: (new_id(),),
    StaffBroadcastAction.RESEND: (new_id(),),
    StaffReportAction.VIEW: (),
    StaffReportAction.TOGGLE: ("1",),
    StaffReportAction.NOW: (),
}


def product_actions() -> list[Action]:
    return [member for enum in routing.product_actions() for member in enum]


async def ignore(update: Any, context: Any, data: Callback) -> None:
    return None


async def ignore_text(update: Any, context: Any, text: str, state: DialogState) -> None:
    return None


def every_step() -> tuple[Step, ...]:
    return tuple(Step(name) for name in sorted(dialog.STEPS))


# --- the product's routes -------------------------------------------------------------------


def test_every_product_action_has_its_longest_arguments_listed() -> None:
    assert set(product_actions()) == set(LONGEST_ARGS)


@pytest.mark.parametrize("action", list(LONGEST_ARGS), ids=lambda a: a.label)
def test_every_action_round_trips_within_64_bytes_to_its_handler(action: Action) -> None:
    router = Router(feature_routes())
    args = LONGEST_ARGS[action]
    data = action.data(*args)
    assert len(data.encode("utf-8")) <= MAX_BYTES
    parsed = decode(data)
    assert (parsed.feature, parsed.action, parsed.args) == (
        action.token,
        action.action,
        tuple(str(a) for a in args),
    )
    route = router.button(parsed)
    assert route.action is action
    assert callable(route.handler)


def test_the_product_router_routes_every_declared_feature() -> None:
    router = Router(feature_routes())
    assert set(router.features) == {type(a) for a in product_actions()}
    labels = [a.label for a in product_actions()]
    assert len(labels) == len(set(labels))
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", label) for label in labels)


def test_the_application_builds_with_the_product_routes() -> None:
    application = build_application(cast(Services, object()), Bot("1:test"))
    assert application.handlers[0]


def test_a_button_is_drawn_only_with_its_declared_arguments() -> None:
    assert SessionAction.BOOK.data("abc") == "1|ss|b|abc"
    with pytest.raises(ValueError, match=r"sessions\.book takes 1 arguments"):
        SessionAction.BOOK.data()
    with pytest.raises(ValueError, match="takes 1"):
        SessionAction.BOOK.data("abc", "def")


# --- failing at start -----------------------------------------------------------------------


def test_a_missing_handler_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = {a: h for a, h in sessions.ROUTES.buttons.items() if a is not SessionAction.DAY}
    monkeypatch.setattr(sessions, "ROUTES", Routes(SessionAction, kept, sessions.ROUTES.steps))
    with pytest.raises(RoutingError, match=r"no handler for sessions\.day"):
        build_application(cast(Services, object()), Bot("1:test"))


def test_a_declared_feature_left_out_fails_the_build() -> None:
    without_profile = [r for r in feature_routes() if r.actions is not ProfileAction]
    with pytest.raises(RoutingError, match="ProfileAction"):
        Router(without_profile)


def test_a_handler_for_another_features_action_fails_the_build() -> None:
    buttons = {**catalog.ROUTES.buttons, SessionAction.DAY: ignore}
    features = [
        Routes(CatalogAction, buttons, catalog.ROUTES.steps) if r.actions is CatalogAction else r
        for r in feature_routes()
    ]
    with pytest.raises(RoutingError, match="does not declare"):
        Router(features)


class Clashing(Action, token="ss", feature="clashing"):
    ONE = "o"


class SameName(Action, token="zz", feature="sessions"):
    ONE = "o"


class Aliased(Action, token="al", feature="aliased"):
    ONE = "o"
    TWO = "o", 1


class BadAction(Action, token="ba", feature="bad_action"):
    UPPER = "D"


class BadFeature(Action, token="BF", feature="bad_feature"):
    ONE = "o"


class Lonely(Action, token="lo", feature="lonely"):
    ONE = "o"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (Clashing, "collides with SessionAction on 'ss'"),
        (SameName, "collides with SessionAction on 'sessions'"),
        (Aliased, "TWO reuse another action's token"),
        (BadAction, "malformed action token 'D'"),
        (BadFeature, "malformed feature token 'BF'"),
    ],
)
def test_collisions_and_malformed_tokens_fail_the_build(extra: type[Action], message: str) -> None:
    features = [*feature_routes(), Routes(extra, {member: ignore for member in extra})]
    with pytest.raises(RoutingError, match=re.escape(message)):
        Router(features)


def test_the_router_checks_only_what_it_is_told_is_declared() -> None:
    router = Router([Routes(Lonely, {Lonely.ONE: ignore}, every_step())], declared=[Lonely])
    assert router.features == (Lonely,)
    with pytest.raises(RoutingError, match="Lonely"):
        Router([], declared=[Lonely], steps=())


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (every_step()[1:], "dialog steps no feature claims"),
        ((*every_step(), Step(dialog.REG_NAME)), "both claim the step 'reg.name'"),
        ((*every_step(), Step("reg.nmae")), "'reg.nmae', which is not a dialog step"),
        (
            (*every_step(), Step(ANY_STEP, text=ignore_text), Step(ANY_STEP, text=ignore_text)),
            "both take text at any step",
        ),
        ((*every_step(), Step(ANY_STEP, cancellable=True)), "only a named step"),
    ],
)
def test_dialog_step_claims_are_checked_at_build(steps: tuple[Step, ...], message: str) -> None:
    with pytest.raises(RoutingError, match=re.escape(message)):
        Router([Routes(Lonely, {Lonely.ONE: ignore}, steps)], declared=[Lonely])


# --- at a press -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "1|ss|zz|abc",  # an action sessions never declared
        "1|zz|d|0",  # a feature nobody declared
        "1|ss|v",  # a declared action without its argument
        "1|ss|v|abc|def",  # ... or with one too many
        "1|pf|v|x",
        "1|mn|h|0",
    ],
)
def test_forged_tokens_are_refused(data: str) -> None:
    router = Router(feature_routes())
    with pytest.raises(OutdatedButton):
        router.button(decode(data))


class FakeQuery:
    def __init__(self, data: str) -> None:
        self.data = data
        self.answers: list[tuple[str | None, bool]] = []

    async def answer(self, text: str | None = None, show_alert: bool = False) -> None:
        self.answers.append((text, show_alert))


def fake_press(data: str) -> tuple[Any, Any, FakeQuery]:
    query = FakeQuery(data)
    update = SimpleNamespace(callback_query=query, effective_chat=None)
    context = SimpleNamespace(language="ru", callback_answered=False, route=None)
    return update, context, query


async def test_a_press_runs_the_declared_handler_and_labels_the_route() -> None:
    seen: list[Callback] = []

    async def handler(update: Any, context: FokContext, data: Callback) -> None:
        seen.append(data)

    router = Router([Routes(Lonely, {Lonely.ONE: handler}, every_step())], declared=[Lonely])
    update, context, query = fake_press(Lonely.ONE.data())
    await router.buttons(Lonely)(update, context)
    assert [(d.feature, d.action) for d in seen] == [("lo", "o")]
    assert context.route == "lonely.one"
    assert query.answers == [(None, False)]  # answered once, silently


async def test_a_forged_press_is_answered_as_outdated_and_runs_nothing() -> None:
    router = Router(feature_routes())
    update, context, query = fake_press("1|ss|zz|abc")
    await router.buttons(SessionAction)(update, context)
    assert query.answers == [(t("ru", "fallback.outdated"), True)]
    assert context.route is None


# --- dialog inputs --------------------------------------------------------------------------


def test_dialog_inputs_reach_the_feature_that_claims_the_step() -> None:
    router = Router(feature_routes())

    def text(step: str) -> object:
        route = router.text(step)
        return route.handler if route is not None else None

    def contact(step: str) -> object:
        route = router.contact(step)
        return route.handler if route is not None else None

    assert text(dialog.REG_NAME) is start.on_name
    assert text(dialog.REG_PHONE) is start.on_phone_text
    assert text(dialog.APPLY_COMMENT) is applications.on_comment
    assert text(dialog.APPLY_PHONE) is applications.on_phone_text
    assert text(dialog.PROFILE_NAME) is profile.on_name
    assert text(dialog.PROFILE_PHONE) is profile.on_phone_text
    for unclaimed in (dialog.IDLE, dialog.REG_CONSENT, dialog.NEAREST_LOCATION, "old.step"):
        assert text(unclaimed) is None  # the fallback answers

    for registering in (dialog.REG_NAME, dialog.REG_PHONE, dialog.REG_CONSENT):
        assert contact(registering) is start.on_contact
    assert contact(dialog.APPLY_PHONE) is applications.on_contact
    for other in (dialog.IDLE, dialog.PROFILE_PHONE):
        assert contact(other) is profile.on_contact

    for step in (dialog.IDLE, dialog.NEAREST_LOCATION, dialog.APPLY_COMMENT):
        route = router.location(step)
        assert route is not None
        assert route.handler is catalog.on_location

    cancellable = {s for s in dialog.STEPS if router.cancellable(s)}
    assert cancellable == {
        dialog.APPLY_PHONE,
        dialog.PROFILE_PHONE,
        dialog.NEAREST_LOCATION,
        # staff: typed «Отмена» leaves a comment, a search or a reason unsaid
        dialog.STAFF_APP_COMMENT,
        dialog.STAFF_APP_SEARCH,
        dialog.STAFF_USER_SEARCH,
        dialog.STAFF_BLOCK_REASON,
        # staff: typed «Отмена» leaves a session or a catalog entry half set up, unsaved
        dialog.STAFF_SESSION_DRAFT,
        dialog.STAFF_SESSION_CHECKIN,
        dialog.STAFF_SESSION_CAPACITY,
        dialog.STAFF_SESSION_CANCEL,
        dialog.STAFF_CATALOG_NEW,
        dialog.STAFF_CATALOG_FIELD,
        dialog.STAFF_CATALOG_HIDE,
        dialog.STAFF_CATALOG_DISTRICT,
        dialog.STAFF_CATALOG_SPORT,
        # staff: typed «Отмена» leaves a broadcast's text untyped (nothing is drafted)
        dialog.STAFF_BROADCAST_TEXT,
    }


def test_input_labels_are_bounded() -> None:
    router = Router(feature_routes())
    route = router.text(dialog.REG_NAME)
    assert route is not None
    assert route.label == "start.text:reg.name"
    other = router.contact("anything a stale release left in Redis")
    assert other is not None
    assert other.label == "profile.contact:other"
