"""«📜 Журнал действий» (super admins): the latest staff actions, newest first, filtered by staff
member and by object (a kind of object, or one application or person from its card); each entry
shows who, when, what, on which object, and every change as before → after."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Update

from bot.domain.audit import AuditEntry
from bot.domain.paging import PageRequest
from bot.services.audit import OPERATOR_ID, AuditLogPage
from bot.services.ports.repositories import AuditQuery
from bot.telegram.actions import StaffAuditAction
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, in_pairs, inline, pager_row
from bot.telegram.routing import Routes
from bot.telegram.screens import Screen, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.staff.render import label
from bot.telegram.texts import TEXTS, Markup, format_when, join, m, t

L = StaffAuditAction
PAGE_SIZE = 8
MAX_PAGE = 1000
MAX_USER_ID = 10**15
ANY = "-"
DEFAULT_TIMEZONE = "Europe/Moscow"
# The kinds of object entries are about (``AuditEntry.target_type``), by their marker in
# callback data; a staff screen recording a new kind adds its line (and its texts).
KINDS: dict[str, str] = {
    "a": "application",
    "u": "user",
    "c": "catalog",
    "g": "schedule",
    "s": "session",
    "t": "template",
    "b": "booking",
    "r": "report",  # statistics viewed, exports made
}
NOTE_FIELDS = ("comment", "reason")


def _optional(data: Callback, index: int) -> str | None:
    value = data.arg(index)
    return None if value == ANY else value


def _query(data: Callback) -> AuditQuery:
    actor = _optional(data, 0)
    if actor is not None and (not actor.isdigit() or int(actor) > MAX_USER_ID):
        raise OutdatedButton("bad staff member")
    kind = _optional(data, 1)
    if kind is not None and kind not in KINDS:
        raise OutdatedButton("unknown kind of object")
    return AuditQuery(
        actor_id=int(actor) if actor is not None else None,
        target_type=KINDS[kind] if kind is not None else None,
        target_id=_optional(data, 2),
    )


def _text_or(language: str, key: str, fallback: str) -> str:
    return t(language, key) if key in TEXTS else fallback


def _person(language: str, person_id: int, people: Mapping[int, str]) -> str:
    if person_id == OPERATOR_ID:
        return t(language, "staff.audit.operator")
    name = people.get(person_id)
    return f"{name} ({person_id})" if name else str(person_id)


def _value(language: str, field: str, value: object) -> str:
    if value is None or value == []:
        return t(language, "staff.none")
    if isinstance(value, bool):
        return t(language, "staff.audit.yes" if value else "staff.audit.no")
    if field == "status" and isinstance(value, str):
        return _text_or(language, f"status.{value}", value)
    if field == "role" and isinstance(value, str):
        return _text_or(language, f"staff.role.{value}", value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _changes(language: str, details: Mapping[str, object]) -> Markup:
    before = details.get("before")
    after = details.get("after")
    lines: list[str] = []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for field in sorted(set(before) | set(after)):
            if before.get(field) == after.get(field):
                continue  # only what changed
            lines.append(
                m(
                    language,
                    "staff.audit.change",
                    field=_text_or(language, f"staff.audit.field.{field}", field),
                    before=_value(language, field, before.get(field)),
                    after=_value(language, field, after.get(field)),
                )
            )
    for field in NOTE_FIELDS:
        note = details.get(field)
        if note:
            lines.append(m(language, "staff.audit.note", text=str(note)))
    return join(lines, "")


def _object(language: str, entry: AuditEntry, people: Mapping[int, str]) -> str:
    if entry.target_type == "application":
        number = entry.details.get("number")
        return f"№ {number}" if number is not None else entry.target_id[-6:].upper()
    if entry.target_type == "user" and entry.target_id.isdigit():
        return _person(language, int(entry.target_id), people)
    return entry.target_id


def _line(language: str, entry: AuditEntry, people: Mapping[int, str]) -> str:
    return m(
        language,
        "staff.audit.line",
        at=format_when(entry.at, DEFAULT_TIMEZONE, language),
        actor=(
            t(language, "staff.audit.operator_named", login=entry.actor_name)
            if entry.actor_name
            else _person(language, entry.actor_id, people)
        ),
        action=_text_or(language, f"staff.audit.action.{entry.action}", entry.action),
        kind=_text_or(language, f"staff.audit.kind.{entry.target_type}", entry.target_type),
        object=_object(language, entry, people),
        changes=_changes(language, entry.details),
    )


def _filters(language: str, query: AuditQuery, people: Mapping[int, str]) -> Markup:
    parts: list[str] = []
    if query.actor_id is not None:
        name = _person(language, query.actor_id, people)
        parts.append(m(language, "staff.audit.filter_staff", name=name))
    if query.target_type is not None:
        kind = _text_or(language, f"staff.audit.kind.{query.target_type}", query.target_type)
        if query.target_id is not None:
            parts.append(m(language, "staff.audit.filter_object", kind=kind, id=query.target_id))
        else:
            parts.append(m(language, "staff.audit.filter_kind", kind=kind))
    return join(parts, "")


def log_screen(language: str, data: Callback, query: AuditQuery, found: AuditLogPage) -> Screen:
    entries = found.entries
    lines = [_line(language, entry, found.people) for entry in entries.items]
    text = t(
        language,
        "staff.audit.title",
        filters=_filters(language, query, found.people),
        total=entries.total,
        lines=join(lines, "\n\n") if lines else m(language, "staff.audit.empty"),
    )
    filters = [
        button(t(language, "staff.audit.by_staff"), L.BY_STAFF),
        button(t(language, "staff.audit.by_object"), L.BY_OBJECT),
    ]
    rows: list[Row] = [
        pager_row(language, entries, L.LOG, *data.args[:3]),
        filters,
    ]
    if query != AuditQuery():
        rows.append([button(t(language, "staff.audit.reset"), L.LOG, ANY, ANY, ANY, 0)])
    rows.append(hub_button(language))
    return Screen(text, inline(rows))


async def log(update: Update, context: FokContext, data: Callback) -> None:
    page = data.int_arg(3, high=MAX_PAGE)
    query = _query(data)
    found = await context.services.audit.log(
        user_id(update), query, PageRequest(page=page, size=PAGE_SIZE)
    )
    await show(update, context, log_screen(context.language, data, query, found))


async def by_staff(update: Update, context: FokContext, _: Callback) -> None:
    language = context.language
    staff = await context.services.audit.staff(user_id(update))
    choices = [
        button(
            label(
                language,
                "staff.users.item",
                marks="",
                name=person.name or "—",
                phone=t(language, f"staff.role.{person.role.value}") if person.role else "—",
                id=person.telegram_id,
            ),
            L.LOG,
            person.telegram_id,
            ANY,
            ANY,
            0,
        )
        for person in staff
    ]
    choices.append(button(t(language, "staff.audit.operator"), L.LOG, OPERATOR_ID, ANY, ANY, 0))
    rows = [[choice] for choice in choices]
    rows.append([button(t(language, "staff.audit.to_log"), L.LOG, ANY, ANY, ANY, 0)])
    await show(update, context, Screen(t(language, "staff.audit.pick_staff"), inline(rows)))


async def by_object(update: Update, context: FokContext, _: Callback) -> None:
    language = context.language
    await context.services.audit.reader(user_id(update))
    choices = [
        button(_text_or(language, f"staff.audit.kinds.{kind}", kind), L.LOG, ANY, marker, ANY, 0)
        for marker, kind in KINDS.items()
    ]
    rows = [
        *in_pairs(choices),
        [button(t(language, "staff.audit.to_log"), L.LOG, ANY, ANY, ANY, 0)],
    ]
    await show(update, context, Screen(t(language, "staff.audit.pick_object"), inline(rows)))


ROUTES = Routes(StaffAuditAction, {L.LOG: log, L.BY_STAFF: by_staff, L.BY_OBJECT: by_object})
