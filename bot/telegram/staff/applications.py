"""«📋 Управление заявками»: lists by status (newest first), search, the card with the applicant,
their other applications and the full history, and the decisions «✅ Принять / 📤 Передать /
🎉 Выполнено / 🚫 Отклонить» with an optional comment for the applicant.

A decision button carries the application's version it was drawn at; the service refuses a stale
one (someone else decided first) and the card is redrawn as it is now.
"""

from __future__ import annotations

from telegram import Update

from bot.domain.applications import Application, ApplicationStatus
from bot.domain.errors import DomainError, StaleAction, ValidationFailed
from bot.domain.paging import Page, PageRequest
from bot.domain.users import Role
from bot.services.applications import StaffApplicationCard
from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog
from bot.telegram.actions import StaffApplicationAction, StaffAuditAction, StaffUserAction
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, in_pairs, inline, pager_row
from bot.telegram.naming import complex_name, sport_name
from bot.telegram.routing import Routes, Step
from bot.telegram.screens import Screen, answer, chat_id, error_text, send, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.staff.render import (
    ALL_STATUSES,
    LIST_ORDER,
    STATUS_EMOJI,
    STATUS_MARKERS,
    decision_row,
    label,
    number_of,
    status_of,
    status_text,
)
from bot.telegram.texts import Markup, format_when, join, m, t

A = StaffApplicationAction
PAGE_SIZE = 8
MAX_PAGE = 1000
MAX_VERSION = 10_000
DEFAULT_TIMEZONE = "Europe/Moscow"
# Where the last search's text is kept between its pages (the dialog state, in Redis).
QUERY_KEY = "staff_app_query"


def _version(data: Callback) -> int:
    return data.int_arg(2, high=MAX_VERSION)


# --- the menu and the lists ------------------------------------------------------------------


async def menu(update: Update, context: FokContext, _: Callback) -> None:
    language = context.language
    counts = await context.services.applications.staff_counts(user_id(update))
    buttons = [
        button(
            label(
                language,
                "staff.apps.status_button",
                emoji=STATUS_EMOJI[status],
                status=t(language, f"status.{status.value}"),
                count=counts.get(status, 0),
            ),
            A.LIST,
            STATUS_MARKERS[status],
            0,
        )
        for status in LIST_ORDER
    ]
    rows = [
        *in_pairs(buttons),
        [
            button(
                t(language, "staff.apps.all", count=sum(counts.values())), A.LIST, ALL_STATUSES, 0
            )
        ],
        [button(t(language, "staff.apps.search"), A.SEARCH)],
        hub_button(language),
    ]
    await show(update, context, Screen(t(language, "staff.apps.menu"), inline(rows)))


async def _item(context: FokContext, application: Application) -> str:
    return label(
        context.language,
        "staff.apps.item",
        emoji=STATUS_EMOJI[application.status],
        number=number_of(application),
        complex=await complex_name(context, application.complex_code),
        name=application.applicant_name or t(context.language, "staff.apps.erased"),
    )


async def _list_rows(
    context: FokContext, found: Page[Application], pager: Row, back: Row
) -> list[Row]:
    rows = [[button(await _item(context, a), A.CARD, a.id)] for a in found.items]
    return [*rows, pager, back, hub_button(context.language)]


async def status_list(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    marker = data.arg(0)
    page = data.int_arg(1, high=MAX_PAGE)
    status = None if marker == ALL_STATUSES else status_of(marker)
    statuses = frozenset(ApplicationStatus) if status is None else frozenset({status})
    found = await context.services.applications.inbox(
        user_id(update), PageRequest(page=page, size=PAGE_SIZE), statuses
    )
    if status is None:
        text = t(language, "staff.apps.all_title", total=found.total)
    else:
        text = t(
            language,
            "staff.apps.list_title",
            emoji=STATUS_EMOJI[status],
            status=t(language, f"status.{status.value}"),
            total=found.total,
        )
    if found.total == 0:
        text += t(language, "staff.apps.list_empty")
    rows = await _list_rows(
        context,
        found,
        pager_row(language, found, A.LIST, marker),
        [button(t(language, "staff.apps.to_menu"), A.MENU)],
    )
    await show(update, context, Screen(text, inline(rows)))


# --- search ----------------------------------------------------------------------------------


def _search_prompt(language: str, note: str = "") -> Screen:
    text = (note + "\n\n" if note else "") + t(language, "staff.apps.search_ask")
    return Screen(text, inline([[button(t(language, "staff.cancel"), A.MENU)]]))


async def ask_search(update: Update, context: FokContext, _: Callback) -> None:
    await context.services.users.staff_member(context.resident)
    await dialog.enter(
        context.services.dialogs, chat_id(update), user_id(update), dialog.STAFF_APP_SEARCH
    )
    await show(update, context, _search_prompt(context.language))


async def _results(context: FokContext, query: str, found: Page[Application]) -> Screen:
    language = context.language
    text = t(language, "staff.apps.search_results", query=query, total=found.total)
    rows = await _list_rows(
        context,
        found,
        pager_row(language, found, A.RESULTS),
        [
            button(t(language, "staff.apps.search_again"), A.SEARCH),
            button(t(language, "staff.apps.to_menu"), A.MENU),
        ],
    )
    return Screen(text, inline(rows))


async def on_search(update: Update, context: FokContext, text: str, _: DialogState) -> None:
    language = context.language
    try:
        found = await context.services.applications.staff_search(
            user_id(update), text, PageRequest(size=PAGE_SIZE)
        )
    except ValidationFailed as error:
        await send(update, context, _search_prompt(language, error_text(language, error)))
        return
    query = " ".join(text.split())
    if found.total == 0:  # still in the search step: the next text is another try
        await send(
            update,
            context,
            Screen(
                t(language, "staff.apps.search_nothing", query=query),
                inline([[button(t(language, "staff.cancel"), A.MENU)]]),
            ),
        )
        return
    await send(update, context, await _results(context, query, found))
    # Out of the search step once the results are out (a failed send gets the text again).
    await dialog.enter(
        context.services.dialogs, chat_id(update), user_id(update), dialog.IDLE, {QUERY_KEY: query}
    )


async def results(update: Update, context: FokContext, data: Callback) -> None:
    page = data.int_arg(0, high=MAX_PAGE)
    state = await dialog.load(context.services.dialogs, chat_id(update), user_id(update))
    query = state.data.get(QUERY_KEY)
    if not isinstance(query, str) or not query:  # another step since: search again
        await ask_search(update, context, data)
        return
    found = await context.services.applications.staff_search(
        user_id(update), query, PageRequest(page=page, size=PAGE_SIZE)
    )
    await show(update, context, await _results(context, query, found))


# --- the card --------------------------------------------------------------------------------


def _who(language: str, card: StaffApplicationCard, actor_id: int) -> str:
    name = card.people.get(actor_id)
    if actor_id == card.application.user_id:
        applicant = t(language, "staff.apps.who_applicant")
        return f"{applicant} {name}" if name else applicant
    return name or t(language, "staff.apps.who_staff", id=actor_id)


async def card_screen(context: FokContext, card: StaffApplicationCard, note: str = "") -> Screen:
    language = context.language
    application = card.application
    history = []
    for change in application.history:
        at = format_when(change.at, DEFAULT_TIMEZONE, language)
        who = _who(language, card, change.actor_id)
        if change.from_status is None:
            history.append(m(language, "staff.apps.history_submitted", at=at, who=who))
            continue
        comment = (
            m(language, "staff.apps.history_comment", text=change.comment)
            if change.comment
            else Markup("")
        )
        history.append(
            m(
                language,
                "staff.apps.history_line",
                at=at,
                who=who,
                before=status_text(language, change.from_status),
                after=status_text(language, change.to_status),
                comment=comment,
            )
        )
    others = [
        m(
            language,
            "staff.apps.other_line",
            number=number_of(other),
            complex=await complex_name(context, other.complex_code),
            sport=await sport_name(context, other.sport_code),
            emoji=STATUS_EMOJI[other.status],
            status=t(language, f"status.{other.status.value}"),
        )
        for other in card.others
    ]
    applicant = card.applicant
    text = t(
        language,
        "staff.apps.card",
        number=number_of(application),
        emoji=STATUS_EMOJI[application.status],
        status=t(language, f"status.{application.status.value}"),
        name=application.applicant_name
        or (applicant.name if applicant else None)
        or t(language, "staff.apps.erased"),
        phone=application.applicant_phone or t(language, "staff.apps.no_phone"),
        user_id=application.user_id,
        complex=await complex_name(context, application.complex_code),
        sport=await sport_name(context, application.sport_code),
        created=format_when(application.created_at, DEFAULT_TIMEZONE, language),
        comment=m(language, "staff.apps.comment", text=application.comment)
        if application.comment
        else Markup(""),
        history=join(history),
        others=m(language, "staff.apps.others", lines=join(others)) if others else Markup(""),
    )
    viewer = context.resident.role
    rows: list[Row] = [decision_row(language, application)]
    rows += in_pairs(
        [button(f"{STATUS_EMOJI[o.status]} № {number_of(o)}", A.CARD, o.id) for o in card.others]
    )
    if viewer in (Role.SUPER_ADMIN, Role.ADMIN):
        rows.append(
            [button(t(language, "staff.apps.open_user"), StaffUserAction.CARD, application.user_id)]
        )
    if viewer is Role.SUPER_ADMIN:
        rows.append(
            [
                button(
                    t(language, "staff.apps.audit"),
                    StaffAuditAction.LOG,
                    "-",
                    "a",
                    application.id,
                    0,
                )
            ]
        )
    rows.append(
        [
            button(
                t(language, "staff.apps.to_list"),
                A.LIST,
                STATUS_MARKERS[application.status],
                0,
            ),
            *hub_button(language),
        ]
    )
    return Screen((note + "\n\n" if note else "") + text, inline(rows))


async def view(update: Update, context: FokContext, data: Callback) -> None:
    card = await context.services.applications.staff_card(user_id(update), data.arg(0))
    await show(update, context, await card_screen(context, card))


# --- deciding --------------------------------------------------------------------------------


def _stale_card(error: StaleAction) -> StaffApplicationCard:
    card = error.details.get("card")
    if not isinstance(card, StaffApplicationCard):
        raise error
    return card


def _stale_note(language: str, card: StaffApplicationCard) -> str:
    application = card.application
    return t(
        language,
        "staff.apps.stale",
        number=number_of(application),
        status=t(language, f"status.{application.status.value}"),
    )


async def ask(update: Update, context: FokContext, data: Callback) -> None:
    """A decision was tapped: ask for an optional comment (the card's own message becomes the
    question)."""
    language = context.language
    application_id, marker = data.arg(0), data.arg(1)
    target, version = status_of(marker), _version(data)
    try:
        application = await context.services.applications.staff_prepare(
            user_id(update), application_id, target, expected_version=version
        )
    except StaleAction as stale:
        await _refuse_stale(update, context, _stale_card(stale))
        return
    await dialog.enter(
        context.services.dialogs,
        chat_id(update),
        user_id(update),
        dialog.STAFF_APP_COMMENT,
        {"application": application_id, "target": marker, "version": version},
    )
    text = t(
        language,
        "staff.apps.ask_comment",
        action=t(language, f"staff.apps.do.{target.value}"),
        number=number_of(application),
        complex=await complex_name(context, application.complex_code),
        name=application.applicant_name or t(language, "staff.apps.erased"),
    )
    rows = [
        [button(t(language, "staff.apps.no_comment"), A.DECIDE, application_id, marker, version)],
        [button(t(language, "staff.cancel"), A.CARD, application_id)],
    ]
    await show(update, context, Screen(text, inline(rows)))


async def _refuse_stale(update: Update, context: FokContext, card: StaffApplicationCard) -> None:
    note = _stale_note(context.language, card)
    if update.callback_query is not None:
        await answer(update, context, note, alert=True)
        await show(update, context, await card_screen(context, card))
    else:
        await send(update, context, await card_screen(context, card, note))


async def decide(update: Update, context: FokContext, data: Callback) -> None:
    """«Без комментария»: apply the decision as drawn."""
    language = context.language
    target = status_of(data.arg(1))
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    try:
        card = await context.services.applications.staff_decide(
            user_id(update), data.arg(0), target, expected_version=_version(data)
        )
    except StaleAction as stale:
        await _refuse_stale(update, context, _stale_card(stale))
        return
    await answer(update, context, t(language, f"staff.apps.done.{target.value}"))
    await show(update, context, await card_screen(context, card))


async def on_comment(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    """The comment typed for the applicant: apply the decision with it."""
    language = context.language
    application_id = str(state.data.get("application", ""))
    marker = str(state.data.get("target", ""))
    version = state.data.get("version")
    if not application_id or not isinstance(version, int):
        raise OutdatedButton("the decision dialog lost its application")
    target = status_of(marker)
    store = context.services.dialogs
    try:
        card = await context.services.applications.staff_decide(
            user_id(update), application_id, target, expected_version=version, comment=text
        )
    except ValidationFailed as error:  # too long: still in the step, the next text is another try
        await send(update, context, Screen(error_text(language, error)))
        return
    except StaleAction as stale:
        await _refuse_stale(update, context, _stale_card(stale))
        await dialog.leave(store, chat_id(update), user_id(update))
        return
    except DomainError:
        await dialog.leave(store, chat_id(update), user_id(update))
        raise
    note = t(language, f"staff.apps.done.{target.value}")
    # Leave the step only once the reply is out: if sending fails, Telegram delivers the comment
    # again, and the decision (already made) answers the same card.
    await send(update, context, await card_screen(context, card, note))
    await dialog.leave(store, chat_id(update), user_id(update))


ROUTES = Routes(
    StaffApplicationAction,
    {
        A.MENU: menu,
        A.LIST: status_list,
        A.CARD: view,
        A.ASK: ask,
        A.DECIDE: decide,
        A.SEARCH: ask_search,
        A.RESULTS: results,
    },
    steps=(
        Step(dialog.STAFF_APP_COMMENT, text=on_comment, cancellable=True),
        Step(dialog.STAFF_APP_SEARCH, text=on_search, cancellable=True),
    ),
)
