"""«👥 Пользователи» (admins): find a person by name, phone or Telegram id; their card with
applications, bookings and no-shows; block and unblock with a reason; and, for super admins,
roles and the complexes a manager is responsible for.
"""

from __future__ import annotations

from telegram import Update

from bot.domain.errors import DomainError, ValidationFailed
from bot.domain.paging import Page, PageRequest
from bot.domain.users import Role, User
from bot.services.ports.ephemeral import DialogState
from bot.services.users import ManagerComplexes, StaffUserCard, complex_reference
from bot.telegram import dialog
from bot.telegram.actions import StaffApplicationAction, StaffAuditAction, StaffUserAction
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, in_pairs, inline, pager_row
from bot.telegram.naming import complex_name
from bot.telegram.routing import Routes, Step
from bot.telegram.screens import Screen, answer, chat_id, error_text, send, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.staff.render import STATUS_EMOJI, label, number_of
from bot.telegram.texts import Markup, format_when, join, m, t

U = StaffUserAction
PAGE_SIZE = 8
COMPLEXES_PAGE_SIZE = 8
MAX_PAGE = 1000
MAX_USER_ID = 10**15
DEFAULT_TIMEZONE = "Europe/Moscow"
QUERY_KEY = "staff_user_query"
ROLE_MARKERS = {Role.SUPER_ADMIN: "sa", Role.ADMIN: "ad", Role.MANAGER: "mg"}
NO_ROLE = "-"


def _target(data: Callback) -> int:
    return data.int_arg(0, low=1, high=MAX_USER_ID)


def _flag(data: Callback, index: int) -> bool:
    flag = data.arg(index)
    if flag not in ("0", "1"):
        raise OutdatedButton(f"argument {index} is not a flag")
    return flag == "1"


def _role_from(marker: str) -> Role | None:
    if marker == NO_ROLE:
        return None
    for role, known in ROLE_MARKERS.items():
        if known == marker:
            return role
    raise OutdatedButton(f"unknown role marker {marker!r}")


def _name(language: str, user: User) -> str:
    return user.name or t(language, "staff.users.unnamed")


def _role_name(language: str, user: User) -> str:
    if user.role is None:
        return t(language, "staff.users.no_role")
    return t(language, f"staff.role.{user.role.value}")


# --- search ----------------------------------------------------------------------------------


def _search_prompt(language: str, note: str = "") -> Screen:
    text = (note + "\n\n" if note else "") + t(language, "staff.users.ask")
    return Screen(text, inline([hub_button(language)]))


async def ask_search(update: Update, context: FokContext, _: Callback) -> None:
    # Admins only: refused here rather than after the query is typed.
    await context.services.users.staff_admin(context.resident)
    await dialog.enter(
        context.services.dialogs, chat_id(update), user_id(update), dialog.STAFF_USER_SEARCH
    )
    await show(update, context, _search_prompt(context.language))


def _results(language: str, query: str, found: Page[User]) -> Screen:
    rows: list[Row] = []
    for user in found.items:
        marks = ("⛔ " if user.blocked else "") + ("👑 " if user.is_staff else "")
        text = label(
            language,
            "staff.users.item",
            marks=marks,
            name=_name(language, user),
            phone=user.phone or "—",
            id=user.telegram_id,
        )
        rows.append([button(text, U.CARD, user.telegram_id)])
    rows += [
        pager_row(language, found, U.RESULTS),
        [button(t(language, "staff.users.search_again"), U.SEARCH)],
        hub_button(language),
    ]
    text = t(language, "staff.users.results", query=query, total=found.total)
    return Screen(text, inline(rows))


async def on_search(update: Update, context: FokContext, text: str, _: DialogState) -> None:
    language = context.language
    try:
        found = await context.services.users.search(
            user_id(update), text, PageRequest(size=PAGE_SIZE)
        )
    except ValidationFailed as error:
        await send(update, context, _search_prompt(language, error_text(language, error)))
        return
    query = " ".join(text.split())
    if found.total == 0:  # still in the search step: the next text is another try
        note = t(language, "staff.users.nothing", query=query)
        await send(update, context, Screen(note, inline([hub_button(language)])))
        return
    await send(update, context, _results(language, query, found))
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
    found = await context.services.users.search(
        user_id(update), query, PageRequest(page=page, size=PAGE_SIZE)
    )
    await show(update, context, _results(context.language, query, found))


# --- the card --------------------------------------------------------------------------------


async def card_screen(context: FokContext, card: StaffUserCard, note: str = "") -> Screen:
    language = context.language
    user = card.user
    if user.deleted_at is not None:
        registered = t(
            language,
            "staff.users.deleted",
            at=format_when(user.deleted_at, DEFAULT_TIMEZONE, language),
        )
    elif user.registered_at is not None:
        registered = format_when(user.registered_at, DEFAULT_TIMEZONE, language)
    else:
        registered = t(language, "staff.users.not_registered")
    complexes = Markup("")
    if user.role is Role.MANAGER:
        names = [await complex_name(context, code) for code in sorted(user.managed_complexes)]
        complexes = m(language, "staff.users.complexes", names=", ".join(names) or "—")
    if user.blocked:
        reason = (
            m(language, "staff.users.reason", reason=card.block_reason)
            if card.block_reason
            else Markup("")
        )
        state = m(language, "staff.users.state_blocked", reason=reason)
    else:
        state = m(language, "staff.users.state_active")
    lines = [
        m(
            language,
            "staff.users.app_line",
            number=number_of(a),
            complex=await complex_name(context, a.complex_code),
            emoji=STATUS_EMOJI[a.status],
            status=t(language, f"status.{a.status.value}"),
        )
        for a in card.applications.items
    ]
    text = t(
        language,
        "staff.users.card",
        name=_name(language, user),
        id=user.telegram_id,
        phone=user.phone or t(language, "staff.apps.no_phone"),
        lang=user.language,
        registered=registered,
        role=_role_name(language, user),
        complexes=complexes,
        state=state,
        applications=card.applications.total,
        lines=join(lines, ""),
        bookings=card.bookings.total,
        active=card.bookings.active,
        attended=card.bookings.attended,
        no_shows=card.bookings.no_shows,
    )
    viewer = context.resident
    target = user.telegram_id
    rows: list[Row] = in_pairs(
        [
            button(f"{STATUS_EMOJI[a.status]} № {number_of(a)}", StaffApplicationAction.CARD, a.id)
            for a in card.applications.items
        ]
    )
    if target != viewer.telegram_id:
        flag = "0" if user.blocked else "1"
        key = "staff.users.unblock" if user.blocked else "staff.users.block"
        rows.append([button(t(language, key), U.BLOCK, target, flag)])
    if viewer.role is Role.SUPER_ADMIN:
        row = [button(t(language, "staff.users.role"), U.ROLE, target)]
        if user.role is Role.MANAGER:
            row.append(button(t(language, "staff.users.manager_complexes"), U.COMPLEXES, target, 0))
        rows += [
            row,
            [button(t(language, "staff.users.audit"), StaffAuditAction.LOG, "-", "u", target, 0)],
        ]
    rows += [[button(t(language, "staff.users.search_again"), U.SEARCH), *hub_button(language)]]
    return Screen((note + "\n\n" if note else "") + text, inline(rows))


async def view(update: Update, context: FokContext, data: Callback) -> None:
    card = await context.services.users.staff_user_card(user_id(update), _target(data))
    await show(update, context, await card_screen(context, card))


# --- blocking --------------------------------------------------------------------------------


async def ask_block(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    target_id, blocked = _target(data), _flag(data, 1)
    target = await context.services.users.staff_prepare_block(user_id(update), target_id, blocked)
    await dialog.enter(
        context.services.dialogs,
        chat_id(update),
        user_id(update),
        dialog.STAFF_BLOCK_REASON,
        {"user": target_id, "blocked": blocked},
    )
    key = "staff.users.ask_block" if blocked else "staff.users.ask_unblock"
    text = t(language, key, name=_name(language, target))
    cancel = [[button(t(language, "staff.cancel"), U.CARD, target_id)]]
    await show(update, context, Screen(text, inline(cancel)))


async def on_reason(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    language = context.language
    target_id = state.data.get("user")
    blocked = state.data.get("blocked")
    if not isinstance(target_id, int) or not isinstance(blocked, bool):
        raise OutdatedButton("the block dialog lost its user")
    store = context.services.dialogs
    try:
        card = await context.services.users.staff_set_blocked(
            user_id(update), target_id, blocked, text
        )
    except ValidationFailed as error:
        if error.field != "reason":
            await dialog.leave(store, chat_id(update), user_id(update))
        await send(update, context, Screen(error_text(language, error)))
        return
    except DomainError:
        await dialog.leave(store, chat_id(update), user_id(update))
        raise
    note = t(language, "staff.users.blocked_done" if blocked else "staff.users.unblocked_done")
    # Leave the step once the reply is out: a failed send gets the reason again, and blocking
    # whoever is blocked already changes nothing.
    await send(update, context, await card_screen(context, card, note))
    await dialog.leave(store, chat_id(update), user_id(update))


# --- roles -----------------------------------------------------------------------------------


async def ask_role(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    target = await context.services.users.staff_prepare_role(user_id(update), _target(data))
    choices = [
        button(t(language, f"staff.users.set.{role.value}"), U.SET_ROLE, target.telegram_id, marker)
        for role, marker in ROLE_MARKERS.items()
    ]
    choices.append(
        button(t(language, "staff.users.set.none"), U.SET_ROLE, target.telegram_id, NO_ROLE)
    )
    text = t(
        language,
        "staff.users.role_ask",
        name=_name(language, target),
        role=_role_name(language, target),
    )
    rows = [*in_pairs(choices), [button(t(language, "staff.cancel"), U.CARD, target.telegram_id)]]
    await show(update, context, Screen(text, inline(rows)))


async def set_role(update: Update, context: FokContext, data: Callback) -> None:
    role = _role_from(data.arg(1))
    card = await context.services.users.staff_set_role(user_id(update), _target(data), role)
    await answer(update, context, t(context.language, "staff.users.role_done"))
    await show(update, context, await card_screen(context, card))


def _complexes_screen(language: str, found: ManagerComplexes, page: int) -> Screen:
    manager = found.manager
    request = PageRequest(page=0, size=COMPLEXES_PAGE_SIZE)
    total = len(found.complexes)
    last = max(0, -(-total // request.size) - 1)
    page = min(page, last)
    shown = found.complexes[page * request.size : (page + 1) * request.size]
    rows: list[Row] = []
    for complex_ in shown:
        assigned = complex_.code in manager.managed_complexes
        text = label(
            language,
            "staff.users.complex_item",
            mark="✅" if assigned else "▫️",
            name=complex_.name.get(language),
        )
        rows.append(
            [
                button(
                    text,
                    U.ASSIGN,
                    manager.telegram_id,
                    complex_reference(complex_.code),
                    "0" if assigned else "1",
                    page,
                )
            ]
        )
    paged = Page(shown, page, request.size, total)
    rows += [
        pager_row(language, paged, U.COMPLEXES, manager.telegram_id),
        [button(t(language, "staff.users.to_card"), U.CARD, manager.telegram_id)],
    ]
    text = t(
        language,
        "staff.users.complexes_title",
        name=_name(language, manager),
        count=len(manager.managed_complexes),
    )
    return Screen(text, inline(rows))


async def complexes(update: Update, context: FokContext, data: Callback) -> None:
    found = await context.services.users.manager_complexes(user_id(update), _target(data))
    page = data.int_arg(1, high=MAX_PAGE)
    await show(update, context, _complexes_screen(context.language, found, page))


async def assign(update: Update, context: FokContext, data: Callback) -> None:
    found = await context.services.users.assign_complex(
        user_id(update), _target(data), data.arg(1), _flag(data, 2)
    )
    page = data.int_arg(3, high=MAX_PAGE)
    await show(update, context, _complexes_screen(context.language, found, page))


ROUTES = Routes(
    StaffUserAction,
    {
        U.SEARCH: ask_search,
        U.RESULTS: results,
        U.CARD: view,
        U.BLOCK: ask_block,
        U.ROLE: ask_role,
        U.SET_ROLE: set_role,
        U.COMPLEXES: complexes,
        U.ASSIGN: assign,
    },
    steps=(
        Step(dialog.STAFF_USER_SEARCH, text=on_search, cancellable=True),
        Step(dialog.STAFF_BLOCK_REASON, text=on_reason, cancellable=True),
    ),
)
