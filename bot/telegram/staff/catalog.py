"""«🏢 Каталог» (staff): complexes (every field edited one at a time, hidden with a reason that
is told to everyone booked on their coming sessions, shown again), a new complex set up step by
step (name, district, address, sports), districts and sports (admins).

Managers edit the complexes assigned to them; creating and hiding are for admins and super
admins. ``CatalogService`` decides and audits all of it; writes go through the catalog
repository, whose in-process copy (``bot.infra.catalog_cache``) is dropped on every write.
"""

from __future__ import annotations

from telegram import Update

from bot.domain.catalog import (
    CHOSEN_FIELDS,
    OPTIONAL_FIELDS,
    ComplexDraft,
    ComplexField,
    District,
    Sport,
)
from bot.domain.errors import DomainError, ValidationFailed
from bot.domain.paging import PageRequest
from bot.services.catalog import StaffComplex, Usage
from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog
from bot.telegram.actions import StaffCatalogAction, StaffSessionAction
from bot.telegram.callbacks import Callback, OutdatedButton, resolve_sport_ref, sport_ref
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, in_pairs, inline, pager_row
from bot.telegram.routing import Routes, Step
from bot.telegram.screens import Screen, answer, chat_id, error_text, send, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.texts import TEXTS, Markup, join, m, t

A = StaffCatalogAction
F = ComplexField
PAGE_SIZE = 8
MAX_PAGE = 1000
# Short markers of the typed fields in callback data (a 48-character code leaves 15 bytes).
FIELD_MARKERS: dict[ComplexField, str] = {
    F.NAME: "nm",
    F.ADDRESS: "ad",
    F.PHONE: "ph",
    F.EMAIL: "em",
    F.WEBSITE: "ws",
    F.HOURS: "hr",
    F.DESCRIPTION: "ds",
    F.LOCATION: "lc",
    F.TIMEZONE: "tz",
    F.CANCELLATION_WINDOW: "cw",
    F.WAITLIST_HOLD: "wh",
}
SPORT_FIELDS = ("name", "icon")
CODE_KEY = "code"
FIELD_KEY = "field"
DRAFT_KEY = "complex_draft"
REASON_KEY = "reason"


def _field_of(marker: str) -> ComplexField:
    for field, known in FIELD_MARKERS.items():
        if known == marker:
            return field
    raise OutdatedButton(f"unknown field marker {marker!r}")


def _flag(data: Callback, index: int) -> bool:
    value = data.arg(index)
    if value not in ("0", "1"):
        raise OutdatedButton("not a flag")
    return value == "1"


def invalid_text(language: str, error: DomainError) -> str:
    if isinstance(error, ValidationFailed):
        for key in (
            f"staff.catalog.invalid.{error.field}.{error.reason}",
            f"staff.catalog.invalid.{error.field}",
        ):
            if key in TEXTS:
                return t(language, key)
    return error_text(language, error)


async def _enter(update: Update, context: FokContext, step: str, data: dict[str, object]) -> None:
    await dialog.enter(context.services.dialogs, chat_id(update), user_id(update), step, data)


async def _leave(update: Update, context: FokContext) -> None:
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))


async def _state(update: Update, context: FokContext) -> DialogState:
    return await dialog.load(context.services.dialogs, chat_id(update), user_id(update))


def _back(language: str, key: str, action: StaffCatalogAction, *args: str | int) -> Row:
    return [button(t(language, key), action, *args)]


# --- the catalog's home and the list of complexes --------------------------------------------


async def home(update: Update, context: FokContext, _: Callback) -> None:
    await _leave(update, context)
    language = context.language
    staff = await context.services.users.staff_member(context.resident)
    rows: list[Row] = [[button(t(language, "staff.catalog.complexes"), A.COMPLEXES, 0)]]
    if staff.manages_all_complexes:
        rows += [
            [button(t(language, "staff.catalog.new_complex"), A.NEW)],
            [
                button(t(language, "staff.catalog.districts"), A.DISTRICTS),
                button(t(language, "staff.catalog.sports"), A.SPORTS),
            ],
        ]
    rows.append(hub_button(language))
    await show(update, context, Screen(t(language, "staff.catalog.home"), inline(rows)))


async def complexes(update: Update, context: FokContext, data: Callback) -> None:
    await _leave(update, context)
    language = context.language
    request = PageRequest(page=data.int_arg(0, high=MAX_PAGE), size=PAGE_SIZE)
    page = await context.services.catalog.staff_complexes(context.resident.telegram_id, request)
    rows: list[Row] = [
        [button(("" if c.active else "🙈 ") + c.name.get(language)[:55], A.COMPLEX, c.code)]
        for c in page.items
    ]
    rows += [
        pager_row(language, page, A.COMPLEXES),
        _back(language, "staff.catalog.to_home", A.HOME),
    ]
    key = "staff.catalog.complexes_title" if page.total else "staff.catalog.no_complexes"
    await show(update, context, Screen(t(language, key, total=page.total), inline(rows)))


# --- one complex -----------------------------------------------------------------------------


async def complex_card(update: Update, context: FokContext, data: Callback) -> None:
    await _leave(update, context)
    found = await context.services.catalog.staff_complex(context.resident.telegram_id, data.arg(0))
    await show(update, context, _complex_screen(context.language, found))


def _complex_screen(language: str, found: StaffComplex, note: str = "") -> Screen:
    c = found.complex_
    unset = t(language, "staff.catalog.unset")
    sports = ", ".join(f"{s.icon} {s.name.get(language)}".strip() for s in found.sports)
    text = t(
        language,
        "staff.catalog.card",
        note=Markup(note + "\n\n") if note else Markup(""),
        name=c.name.get(language),
        hidden=m(language, "staff.catalog.hidden_mark") if not c.active else Markup(""),
        code=c.code,
        district=found.district.name.get(language) if found.district else c.district,
        address=c.address.get(language),
        sports=sports or unset,
        phone=c.phone or unset,
        email=c.email or unset,
        website=c.website or unset,
        hours=c.hours.get(language) or unset,
        description=c.description.get(language) or unset,
        location=f"{c.location.lat:.5f}, {c.location.lon:.5f}" if c.location else unset,
        timezone=c.timezone,
        window=c.cancellation_window_hours,
        hold=c.waitlist_hold_minutes,
        coming=found.coming_sessions,
    )
    edits = [
        button(t(language, f"staff.catalog.edit.{field.value}"), A.FIELD, c.code, marker)
        for field, marker in FIELD_MARKERS.items()
    ]
    rows: list[Row] = [
        *in_pairs(edits),
        [
            button(t(language, "staff.catalog.edit.district"), A.DISTRICT_PICK, c.code),
            button(t(language, "staff.catalog.edit.sports"), A.SPORTS_PICK, c.code),
        ],
    ]
    if c.active:
        schedule = t(language, "staff.catalog.to_sessions")
        rows.append([button(schedule, StaffSessionAction.SCHEDULE, c.code, 0)])
    if found.can_hide:
        if c.active:
            rows.append([button(t(language, "staff.catalog.hide"), A.HIDE, c.code)])
        else:
            rows.append([button(t(language, "staff.catalog.show"), A.SHOW, c.code)])
    rows.append(_back(language, "staff.catalog.to_complexes", A.COMPLEXES, 0))
    return Screen(text, inline(rows))


async def ask_field(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    code, field = data.arg(0), _field_of(data.arg(1))
    found = await context.services.catalog.staff_complex(context.resident.telegram_id, code)
    await _enter(
        update, context, dialog.STAFF_CATALOG_FIELD, {CODE_KEY: code, FIELD_KEY: field.value}
    )
    hint = m(language, "staff.catalog.clear_hint") if field in OPTIONAL_FIELDS else Markup("")
    text = t(
        language,
        f"staff.catalog.ask.{field.value}",
        current=_current_value(language, found, field),
        clear=hint,
    )
    back = inline([_back(language, "staff.catalog.to_complex", A.COMPLEX, code)])
    await show(update, context, Screen(text, back))


def _current_value(language: str, found: StaffComplex, field: ComplexField) -> str:
    c = found.complex_
    values: dict[ComplexField, object] = {
        F.NAME: c.name.get(language),
        F.ADDRESS: c.address.get(language),
        F.PHONE: c.phone,
        F.EMAIL: c.email,
        F.WEBSITE: c.website,
        F.HOURS: c.hours.get(language),
        F.DESCRIPTION: c.description.get(language),
        F.LOCATION: f"{c.location.lat:.5f}, {c.location.lon:.5f}" if c.location else None,
        F.TIMEZONE: c.timezone,
        F.CANCELLATION_WINDOW: c.cancellation_window_hours,
        F.WAITLIST_HOLD: c.waitlist_hold_minutes,
    }
    value = values.get(field)
    return str(value) if value not in (None, "") else t(language, "staff.catalog.unset")


def _editing(state: DialogState) -> tuple[str, ComplexField]:
    code, field = state.data.get(CODE_KEY), state.data.get(FIELD_KEY)
    try:
        chosen = ComplexField(str(field))
    except ValueError as error:
        raise OutdatedButton("no field is being edited") from error
    if not code or chosen in CHOSEN_FIELDS:
        raise OutdatedButton("no field is being edited")
    return str(code), chosen


async def _save_field(update: Update, context: FokContext, state: DialogState, raw: str) -> None:
    language = context.language
    code, field = _editing(state)
    staff_id = context.resident.telegram_id
    try:
        await context.services.catalog.edit_complex(staff_id, code, field, raw)
    except ValidationFailed as error:
        back = inline([_back(language, "staff.catalog.to_complex", A.COMPLEX, code)])
        await send(update, context, Screen(invalid_text(language, error), back))
        return
    await _leave(update, context)
    found = await context.services.catalog.staff_complex(staff_id, code)
    note = t(
        language, "staff.catalog.saved", field=t(language, f"staff.catalog.edit.{field.value}")
    )
    await send(update, context, _complex_screen(language, found, note))


async def on_field_text(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    await _save_field(update, context, state, text)


async def on_field_location(update: Update, context: FokContext, state: DialogState) -> None:
    """A location shared while the coordinates are asked for is taken as them."""
    message = update.effective_message
    code, field = _editing(state)
    if message is None or message.location is None or field is not F.LOCATION:
        back = inline([_back(context.language, "staff.catalog.to_complex", A.COMPLEX, code)])
        await send(update, context, Screen(t(context.language, "staff.catalog.type_it"), back))
        return
    location = message.location
    await _save_field(update, context, state, f"{location.latitude}, {location.longitude}")


# --- district and sports of a complex (buttons) --------------------------------------------


async def _districts_for_choice(context: FokContext) -> list[District]:
    return list((await context.services.catalog.districts(PageRequest(size=100))).items)


async def district_pick(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    code = data.arg(0)
    found = await context.services.catalog.staff_complex(context.resident.telegram_id, code)
    districts = await _districts_for_choice(context)
    buttons = [
        button(
            ("✅ " if d.code == found.complex_.district else "") + d.name.get(language)[:55],
            A.SET_DISTRICT,
            code,
            sport_ref(d.code),
        )
        for d in districts
    ]
    rows = [*in_pairs(buttons), _back(language, "staff.catalog.to_complex", A.COMPLEX, code)]
    text = t(language, "staff.catalog.choose_district", name=found.complex_.name.get(language))
    await show(update, context, Screen(text, inline(rows)))


async def set_district(update: Update, context: FokContext, data: Callback) -> None:
    code = data.arg(0)
    districts = [d.code for d in await _districts_for_choice(context)]
    district = resolve_sport_ref(data.arg(1), districts)
    staff_id = context.resident.telegram_id
    await context.services.catalog.edit_complex(staff_id, code, F.DISTRICT, district)
    found = await context.services.catalog.staff_complex(staff_id, code)
    note = t(
        context.language,
        "staff.catalog.saved",
        field=t(context.language, "staff.catalog.edit.district"),
    )
    await show(update, context, _complex_screen(context.language, found, note))


async def _sports_for_choice(context: FokContext) -> list[Sport]:
    return await context.services.catalog.sports()


async def sports_pick(update: Update, context: FokContext, data: Callback) -> None:
    found = await context.services.catalog.staff_complex(context.resident.telegram_id, data.arg(0))
    await show(update, context, await _sports_screen(context, found))


async def _sports_screen(context: FokContext, found: StaffComplex) -> Screen:
    language = context.language
    c = found.complex_
    offered = set(c.sports)
    buttons = [
        button(
            f"{'✅' if s.code in offered else '⬜'} {s.name.get(language)}"[:60],
            A.TOGGLE_SPORT,
            c.code,
            sport_ref(s.code),
        )
        for s in await _sports_for_choice(context)
    ]
    rows = [*in_pairs(buttons), _back(language, "staff.catalog.to_complex", A.COMPLEX, c.code)]
    text = t(language, "staff.catalog.choose_sports", name=c.name.get(language))
    return Screen(text, inline(rows))


async def toggle_sport(update: Update, context: FokContext, data: Callback) -> None:
    code = data.arg(0)
    staff_id = context.resident.telegram_id
    found = await context.services.catalog.staff_complex(staff_id, code)
    known = [s.code for s in await _sports_for_choice(context)] + list(found.complex_.sports)
    sport = resolve_sport_ref(data.arg(1), known)
    try:
        await context.services.catalog.edit_complex(staff_id, code, F.SPORTS, sport)
    except ValidationFailed as error:
        await answer(update, context, invalid_text(context.language, error), alert=True)
        return
    found = await context.services.catalog.staff_complex(staff_id, code)
    await show(update, context, await _sports_screen(context, found))


# --- hiding and showing a complex (admins) ---------------------------------------------------


async def ask_hide(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    code = data.arg(0)
    found = await context.services.catalog.staff_complex(context.resident.telegram_id, code)
    if not found.can_hide:
        await answer(update, context, t(language, "error.permission_denied"), alert=True)
        return
    await _enter(update, context, dialog.STAFF_CATALOG_HIDE, {CODE_KEY: code})
    text = t(
        language,
        "staff.catalog.ask_hide_reason",
        name=found.complex_.name.get(language),
        sessions=found.coming_sessions,
    )
    back = inline([_back(language, "staff.catalog.keep", A.COMPLEX, code)])
    await show(update, context, Screen(text, back))


async def on_hide_reason(
    update: Update, context: FokContext, text: str, state: DialogState
) -> None:
    language = context.language
    code = str(state.data.get(CODE_KEY) or "")
    keep = button(t(language, "staff.catalog.keep"), A.COMPLEX, code)
    try:
        preview = await context.services.catalog.preview_hide(
            context.resident.telegram_id, code, text
        )
    except DomainError as error:
        await send(update, context, Screen(invalid_text(language, error), inline([[keep]])))
        return
    await _enter(
        update, context, dialog.STAFF_CATALOG_HIDE, {CODE_KEY: code, REASON_KEY: preview.reason}
    )
    question = t(
        language,
        "staff.catalog.confirm_hide",
        name=preview.complex_.name.get(language),
        reason=preview.reason,
        sessions=preview.coming_sessions,
    )
    yes = button(t(language, "staff.catalog.yes_hide"), A.CONFIRM_HIDE, code)
    await send(update, context, Screen(question, inline([[yes, keep]])))


async def confirm_hide(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    code = data.arg(0)
    state = await _state(update, context)
    if state.step != dialog.STAFF_CATALOG_HIDE or state.data.get(CODE_KEY) != code:
        raise OutdatedButton("the reason was not typed for this complex")
    staff_id = context.resident.telegram_id
    hidden = await context.services.catalog.hide_complex(
        staff_id, code, str(state.data.get(REASON_KEY) or "")
    )
    await _leave(update, context)
    found = await context.services.catalog.staff_complex(staff_id, code)
    note = t(language, "staff.catalog.hidden", sessions=hidden.closed_sessions)
    await show(update, context, _complex_screen(language, found, note))


async def show_complex(update: Update, context: FokContext, data: Callback) -> None:
    staff_id = context.resident.telegram_id
    code = data.arg(0)
    await context.services.catalog.show_complex(staff_id, code)
    found = await context.services.catalog.staff_complex(staff_id, code)
    note = t(context.language, "staff.catalog.shown")
    await show(update, context, _complex_screen(context.language, found, note))


# --- a new complex, step by step (admins) ----------------------------------------------------


async def new_complex(update: Update, context: FokContext, _: Callback) -> None:
    draft = await context.services.catalog.start_complex_draft(context.resident.telegram_id)
    await _save_draft(update, context, draft)
    await show(update, context, await _draft_screen(context, draft))


async def _save_draft(update: Update, context: FokContext, draft: ComplexDraft) -> None:
    await _enter(update, context, dialog.STAFF_CATALOG_NEW, {DRAFT_KEY: draft.to_data()})


def _draft_of(state: DialogState) -> ComplexDraft:
    if state.step != dialog.STAFF_CATALOG_NEW:
        raise OutdatedButton("no complex is being set up")
    try:
        return ComplexDraft.from_data(state.data.get(DRAFT_KEY) or {})
    except ValueError as error:
        raise OutdatedButton("the draft in the dialog state is unreadable") from error


async def _draft_screen(context: FokContext, draft: ComplexDraft, problem: str = "") -> Screen:
    language = context.language
    lines: list[str] = []
    if draft.name:
        lines.append(t(language, "staff.catalog.draft_name", name=draft.name))
    if draft.district:
        district = next(
            (d for d in await _districts_for_choice(context) if d.code == draft.district), None
        )
        name = district.name.get(language) if district else draft.district
        lines.append(t(language, "staff.catalog.draft_district", district=name))
    if draft.address:
        lines.append(t(language, "staff.catalog.draft_address", address=draft.address))
    field = draft.missing()
    rows: list[Row] = []
    if field == "district":
        rows += in_pairs(
            [
                button(d.name.get(language)[:60], A.NEW_DISTRICT, sport_ref(d.code))
                for d in await _districts_for_choice(context)
            ]
        )
    elif field == "sports":
        chosen = set(draft.sports)
        rows += in_pairs(
            [
                button(
                    f"{'✅' if s.code in chosen else '⬜'} {s.name.get(language)}"[:60],
                    A.NEW_SPORT,
                    sport_ref(s.code),
                )
                for s in await _sports_for_choice(context)
            ]
        )
        rows.append([button(t(language, "staff.catalog.create"), A.NEW_DONE)])
    rows.append([button(t(language, "staff.catalog.abort"), A.ABORT)])
    text = t(
        language,
        "staff.catalog.draft",
        problem=Markup(problem + "\n\n") if problem else Markup(""),
        lines=join(lines) if lines else Markup(""),
        ask=m(language, f"staff.catalog.ask_new.{field or 'sports'}"),
    )
    return Screen(text, inline(rows))


async def _fill(update: Update, context: FokContext, field: str, raw: str) -> None:
    state = await _state(update, context)
    draft = _draft_of(state)
    typed = update.callback_query is None
    try:
        filled = await context.services.catalog.fill_complex_draft(
            context.resident.telegram_id, draft, field, raw
        )
    except ValidationFailed as error:
        problem = invalid_text(context.language, error)
        if typed:
            await send(update, context, await _draft_screen(context, draft, problem))
        else:
            await answer(update, context, problem, alert=True)
        return
    await _save_draft(update, context, filled)
    screen = await _draft_screen(context, filled)
    if typed:
        await send(update, context, screen)
    else:
        await show(update, context, screen)


async def on_new_text(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    draft = _draft_of(state)
    field = draft.missing()
    if field not in ("name", "address"):
        problem = t(context.language, "staff.catalog.use_buttons")
        await send(update, context, await _draft_screen(context, draft, problem))
        return
    await _fill(update, context, field, text)


async def new_district(update: Update, context: FokContext, data: Callback) -> None:
    districts = [d.code for d in await _districts_for_choice(context)]
    await _fill(update, context, "district", resolve_sport_ref(data.arg(0), districts))


async def new_sport(update: Update, context: FokContext, data: Callback) -> None:
    sports = [s.code for s in await _sports_for_choice(context)]
    await _fill(update, context, "sports", resolve_sport_ref(data.arg(0), sports))


async def new_done(update: Update, context: FokContext, _: Callback) -> None:
    language = context.language
    draft = _draft_of(await _state(update, context))
    staff_id = context.resident.telegram_id
    try:
        ready = await context.services.catalog.fill_complex_draft(
            staff_id, draft, "sports_done", ""
        )
    except ValidationFailed as error:
        await answer(update, context, invalid_text(language, error), alert=True)
        return
    created = await context.services.catalog.create_complex(staff_id, ready)
    await _leave(update, context)
    found = await context.services.catalog.staff_complex(staff_id, created.code)
    note = t(language, "staff.catalog.created")
    await show(update, context, _complex_screen(language, found, note))


async def abort(update: Update, context: FokContext, data: Callback) -> None:
    await home(update, context, data)


# --- districts and sports (admins) ----------------------------------------------------------


def _usage_label(language: str, usage: Usage) -> str:
    entry = usage.entry
    icon = f"{entry.icon} " if isinstance(entry, Sport) and entry.icon else ""
    hidden = "🙈 " if not entry.active else ""
    return f"{hidden}{icon}{entry.name.get(language)} ({usage.complexes})"[:60]


async def districts(update: Update, context: FokContext, _: Callback) -> None:
    await _leave(update, context)
    language = context.language
    found = await context.services.catalog.staff_districts(context.resident.telegram_id)
    rows: list[Row] = [[button(_usage_label(language, u), A.DISTRICT, u.entry.code)] for u in found]
    rows += [
        [button(t(language, "staff.catalog.new_district"), A.NEW_DISTRICT_NAME)],
        _back(language, "staff.catalog.to_home", A.HOME),
    ]
    await show(
        update,
        context,
        Screen(t(language, "staff.catalog.districts_title", total=len(found)), inline(rows)),
    )


async def district_card(update: Update, context: FokContext, data: Callback) -> None:
    await _leave(update, context)
    usage = await context.services.catalog.staff_district(context.resident.telegram_id, data.arg(0))
    await show(update, context, _district_screen(context.language, usage))


def _district_screen(language: str, usage: Usage, note: str = "") -> Screen:
    d = usage.entry
    text = t(
        language,
        "staff.catalog.district_card",
        note=Markup(note + "\n\n") if note else Markup(""),
        name=d.name.get(language),
        hidden=m(language, "staff.catalog.hidden_mark") if not d.active else Markup(""),
        code=d.code,
        complexes=usage.complexes,
    )
    flip = "0" if d.active else "1"
    rows = [
        [button(t(language, "staff.catalog.rename"), A.RENAME_DISTRICT, d.code)],
        [
            button(
                t(language, "staff.catalog.hide" if d.active else "staff.catalog.show"),
                A.DISTRICT_ACTIVE,
                d.code,
                flip,
            )
        ],
        _back(language, "staff.catalog.to_districts", A.DISTRICTS),
    ]
    return Screen(text, inline(rows))


async def ask_district_name(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    code = data.arg(0) if data.args else None
    staff_id = context.resident.telegram_id
    if code is None:
        await context.services.catalog.staff_districts(staff_id)  # admins only
        back = _back(language, "staff.catalog.to_districts", A.DISTRICTS)
        current = Markup("")
    else:
        usage = await context.services.catalog.staff_district(staff_id, code)
        back = _back(language, "staff.catalog.to_district", A.DISTRICT, code)
        current = m(language, "staff.catalog.current", value=usage.entry.name.get(language))
    await _enter(update, context, dialog.STAFF_CATALOG_DISTRICT, {CODE_KEY: code})
    text = t(language, "staff.catalog.ask_district", current=current)
    await show(update, context, Screen(text, inline([back])))


async def on_district_name(
    update: Update, context: FokContext, text: str, state: DialogState
) -> None:
    language = context.language
    code = state.data.get(CODE_KEY)
    staff_id = context.resident.telegram_id
    try:
        if code:
            district = await context.services.catalog.rename_district(staff_id, str(code), text)
        else:
            district = await context.services.catalog.create_district(staff_id, text)
    except ValidationFailed as error:
        back = _back(language, "staff.catalog.to_districts", A.DISTRICTS)
        await send(update, context, Screen(invalid_text(language, error), inline([back])))
        return
    await _leave(update, context)
    usage = await context.services.catalog.staff_district(staff_id, district.code)
    await send(
        update, context, _district_screen(language, usage, t(language, "staff.catalog.saved_entry"))
    )


async def district_active(update: Update, context: FokContext, data: Callback) -> None:
    staff_id = context.resident.telegram_id
    code = data.arg(0)
    await context.services.catalog.set_district_active(staff_id, code, _flag(data, 1))
    usage = await context.services.catalog.staff_district(staff_id, code)
    await show(
        update,
        context,
        _district_screen(context.language, usage, t(context.language, "staff.catalog.saved_entry")),
    )


async def sports(update: Update, context: FokContext, _: Callback) -> None:
    await _leave(update, context)
    language = context.language
    found = await context.services.catalog.staff_sports(context.resident.telegram_id)
    rows: list[Row] = [[button(_usage_label(language, u), A.SPORT, u.entry.code)] for u in found]
    rows += [
        [button(t(language, "staff.catalog.new_sport"), A.NEW_SPORT_NAME)],
        _back(language, "staff.catalog.to_home", A.HOME),
    ]
    await show(
        update,
        context,
        Screen(t(language, "staff.catalog.sports_title", total=len(found)), inline(rows)),
    )


async def sport_card(update: Update, context: FokContext, data: Callback) -> None:
    await _leave(update, context)
    usage = await context.services.catalog.staff_sport(context.resident.telegram_id, data.arg(0))
    await show(update, context, _sport_screen(context.language, usage))


def _sport_screen(language: str, usage: Usage, note: str = "") -> Screen:
    s = usage.entry
    assert isinstance(s, Sport)
    text = t(
        language,
        "staff.catalog.sport_card",
        note=Markup(note + "\n\n") if note else Markup(""),
        name=s.name.get(language),
        icon=s.icon or t(language, "staff.catalog.unset"),
        hidden=m(language, "staff.catalog.hidden_mark") if not s.active else Markup(""),
        code=s.code,
        complexes=usage.complexes,
    )
    flip = "0" if s.active else "1"
    rows = [
        [
            button(t(language, "staff.catalog.rename"), A.EDIT_SPORT, s.code, "name"),
            button(t(language, "staff.catalog.edit_icon"), A.EDIT_SPORT, s.code, "icon"),
        ],
        [
            button(
                t(language, "staff.catalog.hide" if s.active else "staff.catalog.show"),
                A.SPORT_ACTIVE,
                s.code,
                flip,
            )
        ],
        _back(language, "staff.catalog.to_sports", A.SPORTS),
    ]
    return Screen(text, inline(rows))


async def ask_sport(update: Update, context: FokContext, data: Callback) -> None:
    """A new sport's name (no arguments), or a sport's name or icon."""
    language = context.language
    staff_id = context.resident.telegram_id
    if not data.args:
        await context.services.catalog.staff_sports(staff_id)  # admins only
        code, field = None, "name"
        back = _back(language, "staff.catalog.to_sports", A.SPORTS)
        current = Markup("")
    else:
        code, field = data.arg(0), data.arg(1)
        if field not in SPORT_FIELDS:
            raise OutdatedButton("unknown sport field")
        usage = await context.services.catalog.staff_sport(staff_id, code)
        sport = usage.entry
        assert isinstance(sport, Sport)
        value = sport.name.get(language) if field == "name" else sport.icon
        back = _back(language, "staff.catalog.to_sport", A.SPORT, code)
        current = m(
            language, "staff.catalog.current", value=value or t(language, "staff.catalog.unset")
        )
    await _enter(update, context, dialog.STAFF_CATALOG_SPORT, {CODE_KEY: code, FIELD_KEY: field})
    text = t(language, f"staff.catalog.ask_sport_{field}", current=current)
    await show(update, context, Screen(text, inline([back])))


async def on_sport_text(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    language = context.language
    code, field = state.data.get(CODE_KEY), str(state.data.get(FIELD_KEY) or "name")
    staff_id = context.resident.telegram_id
    try:
        if code:
            sport = await context.services.catalog.edit_sport(staff_id, str(code), field, text)
        else:
            sport = await context.services.catalog.create_sport(staff_id, text)
    except ValidationFailed as error:
        back = _back(language, "staff.catalog.to_sports", A.SPORTS)
        await send(update, context, Screen(invalid_text(language, error), inline([back])))
        return
    await _leave(update, context)
    usage = await context.services.catalog.staff_sport(staff_id, sport.code)
    await send(
        update, context, _sport_screen(language, usage, t(language, "staff.catalog.saved_entry"))
    )


async def sport_active(update: Update, context: FokContext, data: Callback) -> None:
    staff_id = context.resident.telegram_id
    code = data.arg(0)
    await context.services.catalog.set_sport_active(staff_id, code, _flag(data, 1))
    usage = await context.services.catalog.staff_sport(staff_id, code)
    await show(
        update,
        context,
        _sport_screen(context.language, usage, t(context.language, "staff.catalog.saved_entry")),
    )


ROUTES = Routes(
    StaffCatalogAction,
    {
        A.HOME: home,
        A.COMPLEXES: complexes,
        A.COMPLEX: complex_card,
        A.FIELD: ask_field,
        A.DISTRICT_PICK: district_pick,
        A.SET_DISTRICT: set_district,
        A.SPORTS_PICK: sports_pick,
        A.TOGGLE_SPORT: toggle_sport,
        A.HIDE: ask_hide,
        A.CONFIRM_HIDE: confirm_hide,
        A.SHOW: show_complex,
        A.NEW: new_complex,
        A.NEW_DISTRICT: new_district,
        A.NEW_SPORT: new_sport,
        A.NEW_DONE: new_done,
        A.ABORT: abort,
        A.DISTRICTS: districts,
        A.DISTRICT: district_card,
        A.NEW_DISTRICT_NAME: ask_district_name,
        A.RENAME_DISTRICT: ask_district_name,
        A.DISTRICT_ACTIVE: district_active,
        A.SPORTS: sports,
        A.SPORT: sport_card,
        A.NEW_SPORT_NAME: ask_sport,
        A.EDIT_SPORT: ask_sport,
        A.SPORT_ACTIVE: sport_active,
    },
    steps=(
        Step(dialog.STAFF_CATALOG_NEW, text=on_new_text, cancellable=True),
        Step(
            dialog.STAFF_CATALOG_FIELD,
            text=on_field_text,
            location=on_field_location,
            cancellable=True,
        ),
        Step(dialog.STAFF_CATALOG_HIDE, text=on_hide_reason, cancellable=True),
        Step(dialog.STAFF_CATALOG_DISTRICT, text=on_district_name, cancellable=True),
        Step(dialog.STAFF_CATALOG_SPORT, text=on_sport_text, cancellable=True),
    ),
)
