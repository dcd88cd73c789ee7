"""«📣 Рассылка»: write to residents — everyone (admins), a complex, a sport or a session.

Choose the audience (its size is shown), type the text (the dialog step keeps the audience, and
the draft when its text is changed), see the preview exactly as residents will, then «✅
Отправить»: the preview becomes the progress message, which the worker edits while it sends and
whose «⛔ Остановить рассылку» stops it. «📜 Отправленные» lists broadcasts with their counts.
Every step is authorised (and audited) by ``BroadcastService``; these handlers only parse and draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import Update

from bot.domain.broadcasts import (
    MAX_TEXT_UNITS,
    RECENT_BOOKING_DAYS,
    Audience,
    AudienceKind,
    Broadcast,
    TextEntity,
)
from bot.domain.catalog import DEFAULT_TIMEZONE
from bot.domain.errors import ValidationFailed
from bot.domain.paging import Page, PageRequest
from bot.services.broadcasts import SESSION_DAYS_AHEAD, AudiencePreview, reference
from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog
from bot.telegram.actions import StaffBroadcastAction
from bot.telegram.broadcast_sender import STATE_EMOJI, audience_label, progress_screen
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, inline, pager_row
from bot.telegram.routing import Routes, Step
from bot.telegram.screens import Screen, chat_id, send, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.texts import Markup, format_when, t

B = StaffBroadcastAction
PAGE_SIZE = 8
MAX_PAGE = 1000
AUDIENCE_KEY = "broadcast_audience"
DRAFT_KEY = "broadcast_draft"
ITEM_EXCERPT = 28


# --- the audience in the dialog state --------------------------------------------------------


def _encode(audience: Audience) -> dict[str, Any]:
    return {
        "kind": audience.kind.value,
        "code": audience.code,
        "complexes": sorted(audience.complexes) if audience.complexes is not None else None,
        "complex": audience.complex_code,
    }


def _decode(data: object) -> Audience | None:
    if not isinstance(data, Mapping):
        return None
    try:
        complexes = data.get("complexes")
        return Audience(
            AudienceKind(data["kind"]),
            data.get("code"),
            complexes=frozenset(complexes) if complexes is not None else None,
            complex_code=data.get("complex"),
        )
    except (KeyError, ValueError, TypeError):
        return None


def _back_row(language: str) -> Row:
    return [button(t(language, "staff.broadcast.back"), B.HOME)]


# --- choosing whom to write to ---------------------------------------------------------------


async def home(update: Update, context: FokContext, _: Callback) -> None:
    options = await context.services.broadcasts.options(user_id(update))
    # Coming back here abandons a half-typed text.
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    language = context.language
    rows: list[Row] = []
    if options.everyone:
        rows.append([button(t(language, "staff.broadcast.to_everyone"), B.EVERYONE)])
    if options.complexes:
        rows.append(
            [
                button(t(language, "staff.broadcast.to_complex"), B.COMPLEXES, 0),
                button(t(language, "staff.broadcast.to_sport"), B.SPORTS, 0),
            ]
        )
        rows.append([button(t(language, "staff.broadcast.to_session"), B.SESSION_COMPLEXES, 0)])
    rows.append([button(t(language, "staff.broadcast.sent_list"), B.LIST, 0)])
    rows.append(hub_button(language))
    text = t(language, "staff.broadcast.home")
    if not options.everyone and not options.complexes:
        text += "\n\n" + t(language, "staff.broadcast.nothing_in_scope")
    await show(update, context, Screen(text, inline(rows)))


def _paged(items: list[Any], page: int) -> Page[Any]:
    last = max(0, -(-len(items) // PAGE_SIZE) - 1)
    page = min(page, last)
    start = page * PAGE_SIZE
    return Page(items[start : start + PAGE_SIZE], page, PAGE_SIZE, len(items))


async def _complex_list(
    update: Update, context: FokContext, data: Callback, *, sessions: bool
) -> None:
    page = data.int_arg(0, high=MAX_PAGE)
    options = await context.services.broadcasts.options(user_id(update))
    language = context.language
    found = _paged(list(options.complexes), page)
    rows: list[Row] = []
    for complex_ in found.items:
        name = complex_.name.get(language)
        ref = reference(complex_.code)
        rows.append(
            [button(name, B.SESSIONS, ref, 0) if sessions else button(name, B.COMPLEX, ref)]
        )
    rows += [
        pager_row(language, found, B.SESSION_COMPLEXES if sessions else B.COMPLEXES),
        _back_row(language),
    ]
    if not options.complexes:
        text = t(language, "staff.broadcast.nothing_in_scope")
    elif sessions:
        text = t(language, "staff.broadcast.pick_session_complex")
    else:
        text = t(language, "staff.broadcast.pick_complex", days=RECENT_BOOKING_DAYS)
    await show(update, context, Screen(text, inline(rows)))


async def complexes(update: Update, context: FokContext, data: Callback) -> None:
    await _complex_list(update, context, data, sessions=False)


async def session_complexes(update: Update, context: FokContext, data: Callback) -> None:
    await _complex_list(update, context, data, sessions=True)


async def sports(update: Update, context: FokContext, data: Callback) -> None:
    page = data.int_arg(0, high=MAX_PAGE)
    options = await context.services.broadcasts.options(user_id(update))
    language = context.language
    found = _paged(list(options.sports), page)
    rows: list[Row] = [
        [button(f"{s.icon} {s.name.get(language)}".strip(), B.SPORT, reference(s.code))]
        for s in found.items
    ]
    rows += [pager_row(language, found, B.SPORTS), _back_row(language)]
    scope = "" if options.everyone else t(language, "staff.broadcast.in_your_complexes")
    if options.sports:
        text = t(
            language,
            "staff.broadcast.pick_sport",
            scope=Markup(scope),
            days=RECENT_BOOKING_DAYS,
        )
    else:
        text = t(language, "staff.broadcast.nothing_in_scope")
    await show(update, context, Screen(text, inline(rows)))


async def sessions(update: Update, context: FokContext, data: Callback) -> None:
    ref, page = data.arg(0), data.int_arg(1, high=MAX_PAGE)
    complex_, found = await context.services.broadcasts.complex_sessions(
        user_id(update), ref, PageRequest(page=page, size=PAGE_SIZE)
    )
    language = context.language
    rows: list[Row] = []
    for session in found.items:
        label = t(
            language,
            "staff.broadcast.session_item",
            when=format_when(session.starts_at, complex_.timezone, language),
            title=session.title.get(language) or session.sport_code,
        )
        rows.append([button(label, B.SESSION, session.id)])
    rows += [
        pager_row(language, found, B.SESSIONS, ref),
        [button(t(language, "nav.back"), B.SESSION_COMPLEXES, 0)],
        _back_row(language),
    ]
    key = "staff.broadcast.pick_session" if found.total else "staff.broadcast.no_sessions"
    text = t(language, key, complex=complex_.name.get(language), days=SESSION_DAYS_AHEAD)
    await show(update, context, Screen(text, inline(rows)))


async def _ask_for_text(
    update: Update,
    context: FokContext,
    preview: AudiencePreview,
    *,
    draft_id: str | None = None,
) -> None:
    language = context.language
    label = await audience_label(context, preview.audience)
    if preview.recipients == 0 and draft_id is None:
        text = t(language, "staff.broadcast.nobody", audience=label)
        await show(update, context, Screen(text, inline([_back_row(language)])))
        return
    data: dict[str, Any] = {AUDIENCE_KEY: _encode(preview.audience)}
    if draft_id is not None:
        data[DRAFT_KEY] = draft_id
    await dialog.enter(
        context.services.dialogs,
        chat_id(update),
        user_id(update),
        dialog.STAFF_BROADCAST_TEXT,
        data,
    )
    text = t(
        language,
        "staff.broadcast.ask_text",
        audience=label,
        count=preview.recipients,
        limit=MAX_TEXT_UNITS,
    )
    cancel = [button(t(language, "staff.broadcast.cancel_input"), B.HOME)]
    await show(update, context, Screen(text, inline([cancel])))


async def _audience(
    update: Update, context: FokContext, kind: AudienceKind, key: str | None
) -> None:
    preview = await context.services.broadcasts.audience(user_id(update), kind, key)
    await _ask_for_text(update, context, preview)


async def everyone(update: Update, context: FokContext, _: Callback) -> None:
    await _audience(update, context, AudienceKind.ALL, None)


async def complex_(update: Update, context: FokContext, data: Callback) -> None:
    await _audience(update, context, AudienceKind.COMPLEX, data.arg(0))


async def sport(update: Update, context: FokContext, data: Callback) -> None:
    await _audience(update, context, AudienceKind.SPORT, data.arg(0))


async def session(update: Update, context: FokContext, data: Callback) -> None:
    await _audience(update, context, AudienceKind.SESSION, data.arg(0))


# --- the text and the preview ----------------------------------------------------------------


def _entities(update: Update) -> list[TextEntity]:
    message = update.effective_message
    if message is None:
        return []
    return [TextEntity(str(e.type), e.offset, e.length, e.url) for e in message.entities]


def _text_error(language: str, error: ValidationFailed) -> str:
    if error.field == "text" and error.reason in ("empty", "too_long", "command"):
        return t(language, f"staff.broadcast.text_{error.reason}", limit=MAX_TEXT_UNITS)
    return t(language, f"error.{error.code}")


async def preview_screen(context: FokContext, broadcast: Broadcast) -> Screen:
    language = context.language
    text = t(
        language,
        "staff.broadcast.preview",
        audience=await audience_label(context, broadcast.audience),
        count=broadcast.estimated,
        text=Markup(broadcast.html),
    )
    rows: list[Row] = [
        [button(t(language, "staff.broadcast.send"), B.SEND, broadcast.id)],
        [
            button(t(language, "staff.broadcast.edit"), B.EDIT, broadcast.id),
            button(t(language, "staff.broadcast.discard"), B.DISCARD, broadcast.id),
        ],
    ]
    return Screen(text, inline(rows))


async def on_text(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    language = context.language
    audience = _decode(state.data.get(AUDIENCE_KEY))
    if audience is None:  # a state from another version: start over
        await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
        await send(update, context, Screen(t(language, "fallback.outdated")))
        return
    draft_id = state.data.get(DRAFT_KEY)
    try:
        broadcast = await context.services.broadcasts.compose(
            user_id(update),
            audience,
            text,
            _entities(update),
            draft_id=draft_id if isinstance(draft_id, str) else None,
        )
    except ValidationFailed as error:  # still at the step: the next message is another try
        cancel = [button(t(language, "staff.broadcast.cancel_input"), B.HOME)]
        await send(update, context, Screen(_text_error(language, error), inline([cancel])))
        return
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    await send(update, context, await preview_screen(context, broadcast))


def _broadcast_id(data: Callback) -> str:
    value = data.arg(0)
    if len(value) != 24:
        raise OutdatedButton("not a broadcast id")
    return value


async def send_(update: Update, context: FokContext, data: Callback) -> None:
    query = update.callback_query
    message = query.message if query is not None else None
    if message is None:
        raise OutdatedButton("the preview message is gone")
    broadcast = await context.services.broadcasts.confirm(
        user_id(update), _broadcast_id(data), chat_id(update), message.message_id
    )
    await show(update, context, await progress_screen(context, broadcast, broadcast.counts))


async def edit(update: Update, context: FokContext, data: Callback) -> None:
    draft = await context.services.broadcasts.draft(user_id(update), _broadcast_id(data))
    preview = AudiencePreview(draft.audience, draft.estimated)
    await _ask_for_text(update, context, preview, draft_id=draft.id)


async def discard(update: Update, context: FokContext, data: Callback) -> None:
    await context.services.broadcasts.discard(user_id(update), _broadcast_id(data))
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))
    language = context.language
    screen = Screen(t(language, "staff.broadcast.discarded"), inline([_back_row(language)]))
    await show(update, context, screen)


# --- the progress message and the list -------------------------------------------------------


async def cancel(update: Update, context: FokContext, data: Callback) -> None:
    card = await context.services.broadcasts.cancel(user_id(update), _broadcast_id(data))
    await show(update, context, await progress_screen(context, card.broadcast, card.counts))


async def resend(update: Update, context: FokContext, data: Callback) -> None:
    card = await context.services.broadcasts.resend_unconfirmed(
        user_id(update), _broadcast_id(data)
    )
    await show(update, context, await progress_screen(context, card.broadcast, card.counts))


def _item(language: str, broadcast: Broadcast) -> str:
    flat = " ".join(broadcast.text.split())
    excerpt = flat if len(flat) <= ITEM_EXCERPT else flat[: ITEM_EXCERPT - 1] + "…"
    when = broadcast.queued_at or broadcast.created_at
    return t(
        language,
        "staff.broadcast.item",
        emoji=STATE_EMOJI[broadcast.state],
        when=format_when(when, DEFAULT_TIMEZONE, language),
        excerpt=excerpt,
    )


async def list_(update: Update, context: FokContext, data: Callback) -> None:
    page = data.int_arg(0, high=MAX_PAGE)
    found = await context.services.broadcasts.recent(
        user_id(update), PageRequest(page=page, size=PAGE_SIZE)
    )
    language = context.language
    rows: list[Row] = [[button(_item(language, b), B.CARD, b.id)] for b in found.items]
    rows += [pager_row(language, found, B.LIST), _back_row(language)]
    key = "staff.broadcast.list" if found.total else "staff.broadcast.list_empty"
    await show(update, context, Screen(t(language, key, total=found.total), inline(rows)))


async def card(update: Update, context: FokContext, data: Callback) -> None:
    found = await context.services.broadcasts.card(user_id(update), _broadcast_id(data))
    broadcast = found.broadcast
    language = context.language
    when = broadcast.queued_at or broadcast.created_at
    author = found.author.name if found.author is not None else None
    extra = [
        t(language, "staff.broadcast.line.author", name=author or "—"),
        t(
            language,
            "staff.broadcast.line.when",
            when=format_when(when, DEFAULT_TIMEZONE, language),
        ),
    ]
    rows = [[button(t(language, "staff.broadcast.sent_list"), B.LIST, 0)]]
    screen = await progress_screen(context, broadcast, found.counts, extra=extra, rows=rows)
    await show(update, context, screen)


ROUTES = Routes(
    StaffBroadcastAction,
    {
        B.HOME: home,
        B.EVERYONE: everyone,
        B.COMPLEXES: complexes,
        B.COMPLEX: complex_,
        B.SPORTS: sports,
        B.SPORT: sport,
        B.SESSION_COMPLEXES: session_complexes,
        B.SESSIONS: sessions,
        B.SESSION: session,
        B.SEND: send_,
        B.EDIT: edit,
        B.DISCARD: discard,
        B.CANCEL: cancel,
        B.LIST: list_,
        B.CARD: card,
        B.RESEND: resend,
    },
    steps=(Step(dialog.STAFF_BROADCAST_TEXT, text=on_text, cancellable=True),),
)
