"""«📅 Занятия» (staff): a complex's coming sessions, one-off sessions and weekly slots set up
step by step, the list of who is booked and who waits, attendance (per person, «✅ Все пришли»,
or the check-in code a resident shows), the number of seats, and cancelling with a reason.

The set-up keeps its draft in the dialog state (``SessionDraft``), so whatever was typed so far
survives a bad input and reaches any bot instance; every value is checked by
``ScheduleService.fill_draft`` and refused with a message that says what to type.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot.domain.bookings import Attendance, BookingStatus
from bot.domain.catalog import Complex
from bot.domain.errors import DomainError, ValidationFailed
from bot.domain.paging import PageRequest
from bot.domain.sessions import DraftKind, Session, SessionDraft, WeeklyTemplate
from bot.services.bookings import ROSTER_PAGE_SIZE, Roster, RosterEntry
from bot.services.ports.ephemeral import DialogState
from bot.services.schedule import StaffDraft
from bot.telegram import dialog
from bot.telegram.actions import StaffSessionAction
from bot.telegram.callbacks import Callback, OutdatedButton, resolve_sport_ref, sport_ref
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, in_pairs, inline, pager_row
from bot.telegram.naming import sport_name
from bot.telegram.routing import Routes, Step
from bot.telegram.screens import Screen, answer, chat_id, error_text, send, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.texts import (
    TEXTS,
    Markup,
    format_date,
    format_time,
    format_when,
    join,
    language_of,
    m,
    t,
)

A = StaffSessionAction
B = BookingStatus
PAGE_SIZE = 8
MAX_PAGE = 1000
DURATION_PRESETS = (45, 60, 90)
KINDS = {"o": DraftKind.ONE_OFF, "w": DraftKind.WEEKLY}
KIND_MARKERS = {kind: marker for marker, kind in KINDS.items()}
DRAFT_KEY = "draft"
SESSION_KEY = "session"
REASON_KEY = "reason"
_HEX = frozenset("0123456789abcdef")
LABEL_MAX = 60


def _session_arg(data: Callback, index: int = 0) -> str:
    value = data.arg(index)
    if len(value) != 24 or not set(value) <= _HEX:
        raise OutdatedButton("malformed session id")
    return value


def _booking_arg(data: Callback) -> str:
    value = data.arg(0)
    session, _, user = value.partition(":")
    if len(session) != 24 or not set(session) <= _HEX or not user.isdigit():
        raise OutdatedButton("malformed booking id")
    return value


def _page_arg(data: Callback, index: int) -> PageRequest:
    return PageRequest(page=data.int_arg(index, high=MAX_PAGE), size=PAGE_SIZE)


def label(language: str, key: str, **values: object) -> str:
    """A button's text: the template filled in as is (buttons are not HTML), kept short."""
    text = TEXTS[key][language_of(language)].format(**values)
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def invalid_text(language: str, error: DomainError) -> str:
    """What to type instead: the field's own message, else the general one."""
    if isinstance(error, ValidationFailed):
        for key in (
            f"staff.sessions.invalid.{error.field}.{error.reason}",
            f"staff.sessions.invalid.{error.field}",
        ):
            if key in TEXTS:
                return t(language, key)
    return error_text(language, error)


async def _leave(update: Update, context: FokContext) -> None:
    await dialog.leave(context.services.dialogs, chat_id(update), user_id(update))


# --- the complexes and their schedules ----------------------------------------------------


async def complexes(update: Update, context: FokContext, data: Callback) -> None:
    await show(update, context, await _complexes_screen(context, _page_arg(data, 0)))


async def _complexes_screen(context: FokContext, request: PageRequest) -> Screen:
    language = context.language
    page = await context.services.schedule.staff_complexes(context.resident.telegram_id, request)
    rows: list[Row] = [
        [button(c.name.get(language)[:60], A.SCHEDULE, c.code, 0)] for c in page.items
    ]
    key = "staff.sessions.complexes" if page.total else "staff.sessions.no_complexes"
    rows += [pager_row(language, page, A.COMPLEXES), hub_button(language)]
    return Screen(t(language, key, total=page.total), inline(rows))


async def schedule(update: Update, context: FokContext, data: Callback) -> None:
    await _leave(update, context)
    await show(update, context, await _schedule_screen(context, data.arg(0), _page_arg(data, 1)))


async def _schedule_screen(context: FokContext, complex_code: str, page: PageRequest) -> Screen:
    language = context.language
    found = await context.services.schedule.staff_schedule(
        context.resident.telegram_id, complex_code, page
    )
    complex_ = found.complex_
    lines: list[str] = []
    rows: list[Row] = []
    for session in found.sessions.items:
        key, values = await _session_line(context, session, complex_)
        lines.append(t(language, key, **values))
        rows.append([button(label(language, key, **values), A.SESSION, session.id, 0)])
    text = t(
        language,
        "staff.sessions.schedule",
        complex=complex_.name.get(language),
        total=found.sessions.total,
        lines=join(lines) if lines else m(language, "staff.sessions.schedule_empty"),
    )
    active = sum(1 for tpl in found.templates if tpl.active)
    rows += [
        pager_row(language, found.sessions, A.SCHEDULE, complex_.code),
        [
            button(t(language, "staff.sessions.new_one_off"), A.NEW, complex_.code, "o"),
            button(t(language, "staff.sessions.new_weekly"), A.NEW, complex_.code, "w"),
        ],
        [button(t(language, "staff.sessions.templates", count=active), A.TEMPLATES, complex_.code)],
        [button(t(language, "staff.sessions.to_complexes"), A.COMPLEXES, 0)],
        hub_button(language),
    ]
    return Screen(text, inline(rows))


async def _session_line(
    context: FokContext, session: Session, complex_: Complex
) -> tuple[str, dict[str, object]]:
    """The template and values of a session's line (a message line and its button alike)."""
    language = context.language
    values: dict[str, object] = {
        "when": format_when(session.starts_at, complex_.timezone, language),
        "sport": await sport_name(context, session.sport_code),
    }
    if session.cancelled:
        return "staff.sessions.line_cancelled", values
    return "staff.sessions.line", {
        **values,
        "booked": session.booked,
        "capacity": session.capacity,
    }


# --- weekly slots ----------------------------------------------------------------------------


async def templates(update: Update, context: FokContext, data: Callback) -> None:
    await show(update, context, await _templates_screen(context, data.arg(0)))


async def _templates_screen(context: FokContext, complex_code: str) -> Screen:
    language = context.language
    found = await context.services.schedule.staff_schedule(
        context.resident.telegram_id, complex_code, PageRequest(size=1)
    )
    lines: list[str] = []
    rows: list[Row] = []
    for template in found.templates:
        values = await _template_values(context, template)
        lines.append(t(language, "staff.sessions.template_line", **values))
        flip = "0" if template.active else "1"
        key = "staff.sessions.template_stop" if template.active else "staff.sessions.template_start"
        slot = label(language, "staff.sessions.template_line", **values)
        rows.append([button(label(language, key, slot=slot), A.TEMPLATE, template.id, flip)])
    text = t(
        language,
        "staff.sessions.templates_title",
        complex=found.complex_.name.get(language),
        lines=join(lines) if lines else m(language, "staff.sessions.templates_empty"),
    )
    rows += [
        [button(t(language, "staff.sessions.new_weekly"), A.NEW, complex_code, "w")],
        [button(t(language, "staff.sessions.to_schedule"), A.SCHEDULE, complex_code, 0)],
    ]
    return Screen(text, inline(rows))


async def _template_values(context: FokContext, template: WeeklyTemplate) -> dict[str, object]:
    language = context.language
    return {
        "mark": "✅" if template.active else "⏸",
        "weekday": t(language, f"weekday.{template.weekday}"),
        "start": template.start.isoformat("minutes"),
        "sport": await sport_name(context, template.sport_code),
        "minutes": template.duration_minutes,
        "capacity": template.capacity,
    }


async def toggle_template(update: Update, context: FokContext, data: Callback) -> None:
    flag = data.arg(1)
    if flag not in ("0", "1"):
        raise OutdatedButton("not a flag")
    template, generated = await context.services.schedule.set_template_active(
        context.resident.telegram_id, _session_arg(data), flag == "1"
    )
    if generated:
        await answer(
            update, context, t(context.language, "staff.sessions.generated", count=generated)
        )
    await show(update, context, await _templates_screen(context, template.complex_code))


# --- the guided set-up of a session or a weekly slot -----------------------------------------


async def new_draft(update: Update, context: FokContext, data: Callback) -> None:
    kind = KINDS.get(data.arg(1))
    if kind is None:
        raise OutdatedButton("unknown kind of session")
    started = await context.services.schedule.start_draft(
        context.resident.telegram_id, data.arg(0), kind
    )
    await _save_draft(update, context, started.draft)
    await show(update, context, await _draft_screen(context, started))


async def _save_draft(update: Update, context: FokContext, draft: SessionDraft) -> None:
    await dialog.enter(
        context.services.dialogs,
        chat_id(update),
        user_id(update),
        dialog.STAFF_SESSION_DRAFT,
        {DRAFT_KEY: draft.to_data()},
    )


async def _current_draft(update: Update, context: FokContext) -> SessionDraft:
    """The draft kept in the dialog state; a button of a draft already gone is outdated."""
    state = await dialog.load(context.services.dialogs, chat_id(update), user_id(update))
    return _draft_of(state)


def _draft_of(state: DialogState) -> SessionDraft:
    if state.step != dialog.STAFF_SESSION_DRAFT:
        raise OutdatedButton("no session is being set up")
    try:
        return SessionDraft.from_data(state.data.get(DRAFT_KEY) or {})
    except ValueError as error:
        raise OutdatedButton("the draft in the dialog state is unreadable") from error


async def _draft_screen(
    context: FokContext, staff_draft: StaffDraft, problem: str | None = None
) -> Screen:
    """What was entered so far, then the next question (or the confirmation)."""
    language = context.language
    draft, complex_ = staff_draft.draft, staff_draft.complex_
    summary = await _draft_summary(context, draft, complex_)
    field = draft.missing()
    rows: list[Row] = []
    if field == "sport":
        sports = [
            button(await sport_name(context, code), A.SPORT, sport_ref(code))
            for code in complex_.sports
        ]
        rows += in_pairs(sports)
    elif field == "weekday":
        days = [button(t(language, f"weekday.{day}"), A.WEEKDAY, day) for day in range(7)]
        rows += [days[:4], days[4:]]
    elif field == "duration":
        rows.append([button(f"{minutes}", A.DURATION, minutes) for minutes in DURATION_PRESETS])
    elif field is None:
        rows.append([button(t(language, "staff.sessions.create"), A.CREATE)])
    ask = m(language, f"staff.sessions.ask.{field or 'confirm'}")
    rows.append([button(t(language, "staff.sessions.abort"), A.ABORT)])
    text = t(
        language,
        "staff.sessions.draft",
        problem=Markup(problem + "\n\n") if problem else Markup(""),
        summary=summary,
        ask=ask,
    )
    return Screen(text, inline(rows))


async def _draft_summary(context: FokContext, draft: SessionDraft, complex_: Complex) -> Markup:
    language = context.language
    lines = [
        m(
            language,
            "staff.sessions.draft_weekly" if draft.weekly else "staff.sessions.draft_one_off",
            complex=complex_.name.get(language),
        )
    ]
    if draft.sport_code is not None:
        sport = await sport_name(context, draft.sport_code)
        lines.append(m(language, "staff.sessions.draft_sport", sport=sport))
    if draft.weekday is not None:
        weekday = t(language, f"weekday.{draft.weekday}")
        lines.append(m(language, "staff.sessions.draft_weekday", weekday=weekday))
    if draft.day is not None:
        day = format_date(draft.day, language)
        lines.append(m(language, "staff.sessions.draft_day", day=day))
    if draft.start is not None:
        start = draft.start.isoformat("minutes")
        lines.append(m(language, "staff.sessions.draft_start", start=start))
    if draft.duration_minutes is not None:
        minutes = draft.duration_minutes
        lines.append(m(language, "staff.sessions.draft_duration", minutes=minutes))
    if draft.capacity is not None:
        lines.append(m(language, "staff.sessions.draft_capacity", capacity=draft.capacity))
    lines.append(m(language, "staff.sessions.draft_zone", timezone=complex_.timezone))
    return join(lines)


async def _fill(update: Update, context: FokContext, field: str, raw: str) -> None:
    """One answer of the set-up: a bad one is refused and the question asked again, with what
    was entered so far kept."""
    draft = await _current_draft(update, context)
    typed = update.callback_query is None
    try:
        filled = await context.services.schedule.fill_draft(
            context.resident.telegram_id, draft, field, raw
        )
    except ValidationFailed as error:
        problem = invalid_text(context.language, error)
        if not typed:
            await answer(update, context, problem, alert=True)
            return
        complex_ = await context.services.catalog.complex(draft.complex_code)
        await send(
            update, context, await _draft_screen(context, StaffDraft(draft, complex_), problem)
        )
        return
    await _save_draft(update, context, filled.draft)
    screen = await _draft_screen(context, filled)
    if typed:
        await send(update, context, screen)
    else:
        await show(update, context, screen)


async def choose_sport(update: Update, context: FokContext, data: Callback) -> None:
    draft = await _current_draft(update, context)
    complex_ = await context.services.catalog.complex(draft.complex_code)
    await _fill(update, context, "sport", resolve_sport_ref(data.arg(0), list(complex_.sports)))


async def choose_weekday(update: Update, context: FokContext, data: Callback) -> None:
    await _fill(update, context, "weekday", str(data.int_arg(0, high=6)))


async def choose_duration(update: Update, context: FokContext, data: Callback) -> None:
    await _fill(update, context, "duration", str(data.int_arg(0, low=1, high=24 * 60)))


async def on_draft_text(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    draft = _draft_of(state)
    field = draft.missing()
    if field in (None, "sport", "weekday"):
        # Asked with buttons: typed text is a slip, the question is shown again.
        complex_ = await context.services.catalog.complex(draft.complex_code)
        problem = t(context.language, "staff.sessions.use_buttons")
        await send(
            update, context, await _draft_screen(context, StaffDraft(draft, complex_), problem)
        )
        return
    await _fill(update, context, field, text)


async def create(update: Update, context: FokContext, _: Callback) -> None:
    language = context.language
    draft = await _current_draft(update, context)
    done = await context.services.schedule.confirm_draft(context.resident.telegram_id, draft)
    await _leave(update, context)
    if done.session is not None:
        note = t(
            language,
            "staff.sessions.created",
            when=format_when(done.session.starts_at, done.complex_.timezone, language),
            sport=await sport_name(context, done.session.sport_code),
        )
    else:
        assert done.template is not None
        note = t(
            language,
            "staff.sessions.saved_weekly",
            slot=m(
                language,
                "staff.sessions.template_line",
                **await _template_values(context, done.template),
            ),
            count=done.generated,
        )
    screen = await _schedule_screen(context, done.complex_.code, PageRequest(size=PAGE_SIZE))
    await show(update, context, Screen(note + "\n\n" + screen.text, screen.markup))


async def abort(update: Update, context: FokContext, _: Callback) -> None:
    state = await dialog.load(context.services.dialogs, chat_id(update), user_id(update))
    await _leave(update, context)
    complex_code = None
    if state.step == dialog.STAFF_SESSION_DRAFT:
        complex_code = (state.data.get(DRAFT_KEY) or {}).get("complex")
    if not complex_code:
        await show(update, context, await _complexes_screen(context, PageRequest(size=PAGE_SIZE)))
        return
    screen = await _schedule_screen(context, str(complex_code), PageRequest(size=PAGE_SIZE))
    await show(update, context, screen)


# --- one session: who is booked and who waits, attendance ------------------------------------


async def session_card(update: Update, context: FokContext, data: Callback) -> None:
    await _leave(update, context)
    page = PageRequest(page=data.int_arg(1, high=MAX_PAGE), size=ROSTER_PAGE_SIZE)
    roster = await context.services.bookings.staff_roster(
        context.resident.telegram_id, _session_arg(data), page
    )
    await show(update, context, await _roster_screen(context, roster))


async def _roster_screen(context: FokContext, roster: Roster, note: str = "") -> Screen:
    language = context.language
    session, complex_ = roster.session, roster.complex_
    people = [
        _person_line(language, roster.seated.page * roster.seated.size + index, entry)
        for index, entry in enumerate(roster.seated.items, start=1)
    ]
    if session.cancelled:
        state = m(language, "staff.sessions.state_cancelled", reason=session.cancel_reason or "—")
    elif not roster.can_mark_arrivals:
        opens = format_when(session.starts_at - timedelta(hours=1), complex_.timezone, language)
        state = m(language, "staff.sessions.state_not_yet", opens=opens)
    else:
        state = m(
            language,
            "staff.sessions.state_marks",
            attended=roster.attended,
            no_shows=roster.no_shows,
            total=roster.seated.total,
        )
    text = t(
        language,
        "staff.sessions.card",
        note=Markup(note + "\n\n") if note else Markup(""),
        sport=await sport_name(context, session.sport_code),
        complex=complex_.name.get(language),
        when=format_when(session.starts_at, complex_.timezone, language),
        end=format_time(session.ends_at, complex_.timezone),
        timezone=complex_.timezone,
        booked=session.booked,
        capacity=session.capacity,
        waiting=len(roster.waitlist),
        state=state,
        people=join(people) if people else m(language, "staff.sessions.nobody"),
    )
    rows: list[Row] = []
    if roster.can_mark_arrivals and not session.cancelled:
        page = roster.seated.page
        for entry in roster.seated.items:
            if entry.booking.status is not B.ACTIVE:
                continue
            came = button(
                label(language, "staff.sessions.came_button", name=entry.name),
                A.ATTEND,
                entry.booking.id,
                "y",
                page,
            )
            row = [came]
            if roster.can_mark_no_shows:
                row.append(
                    button(
                        t(language, "staff.sessions.no_show_button"),
                        A.ATTEND,
                        entry.booking.id,
                        "n",
                        page,
                    )
                )
            rows.append(row)
        rows.append(
            [
                button(t(language, "staff.sessions.checkin"), A.CHECKIN, session.id),
                button(t(language, "staff.sessions.all_came"), A.ALL_CAME, session.id),
            ]
        )
    rows.append(pager_row(language, roster.seated, A.SESSION, session.id))
    if roster.waitlist:
        rows.append(
            [
                button(
                    t(language, "staff.sessions.waitlist", count=len(roster.waitlist)),
                    A.WAITLIST,
                    session.id,
                )
            ]
        )
    if not session.cancelled and session.is_bookable_at(context.services.clock.now()):
        rows.append(
            [
                button(t(language, "staff.sessions.capacity"), A.CAPACITY, session.id),
                button(t(language, "staff.sessions.cancel"), A.CANCEL, session.id),
            ]
        )
    rows.append(
        [button(t(language, "staff.sessions.to_schedule"), A.SCHEDULE, session.complex_code, 0)]
    )
    return Screen(text, inline(rows))


def _person_line(language: str, number: int, entry: RosterEntry) -> str:
    booking = entry.booking
    if booking.status is B.OFFERED:
        mark = "🎉"
    elif booking.attendance is Attendance.ATTENDED:
        mark = "✅"
    elif booking.attendance is Attendance.NO_SHOW:
        mark = "🚫"
    else:
        mark = "▫️"
    return t(
        language,
        "staff.sessions.person",
        number=number,
        mark=mark,
        name=entry.name,
        phone=entry.phone or "—",
    )


async def attend(update: Update, context: FokContext, data: Callback) -> None:
    marker = data.arg(1)
    if marker not in ("y", "n"):
        raise OutdatedButton("unknown attendance marker")
    attendance = Attendance.ATTENDED if marker == "y" else Attendance.NO_SHOW
    staff_id = context.resident.telegram_id
    marked = await context.services.bookings.mark_attendance(
        staff_id, _booking_arg(data), attendance
    )
    page = PageRequest(page=data.int_arg(2, high=MAX_PAGE), size=ROSTER_PAGE_SIZE)
    roster = await context.services.bookings.staff_roster(staff_id, marked.session_id, page)
    await show(update, context, await _roster_screen(context, roster))


async def all_came(update: Update, context: FokContext, data: Callback) -> None:
    staff_id = context.resident.telegram_id
    session_id = _session_arg(data)
    count = await context.services.bookings.mark_all_attended(staff_id, session_id)
    await answer(update, context, t(context.language, "staff.sessions.all_marked", count=count))
    roster = await context.services.bookings.staff_roster(
        staff_id, session_id, PageRequest(size=ROSTER_PAGE_SIZE)
    )
    await show(update, context, await _roster_screen(context, roster))


async def waitlist(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    roster = await context.services.bookings.staff_roster(
        context.resident.telegram_id, _session_arg(data), PageRequest(size=1)
    )
    lines = [
        t(
            language,
            "staff.sessions.waiting",
            position=e.position or 0,
            name=e.name,
            phone=e.phone or "—",
        )
        for e in roster.waitlist
    ]
    text = t(
        language,
        "staff.sessions.waitlist_title",
        when=format_when(roster.session.starts_at, roster.complex_.timezone, language),
        lines=join(lines) if lines else m(language, "staff.sessions.waitlist_empty"),
    )
    rows = [[button(t(language, "staff.sessions.to_session"), A.SESSION, roster.session.id, 0)]]
    await show(update, context, Screen(text, inline(rows)))


# --- typed: check-in codes, the number of seats, why a session is cancelled -------------------


async def _ask(
    update: Update, context: FokContext, step: str, session_id: str, key: str, **values: object
) -> None:
    """Enter ``step`` for the session and ask with the ``key`` text (a «back» button under it)."""
    language = context.language
    await dialog.enter(
        context.services.dialogs, chat_id(update), user_id(update), step, {SESSION_KEY: session_id}
    )
    back = inline([[button(t(language, "staff.sessions.to_session"), A.SESSION, session_id, 0)]])
    await show(update, context, Screen(t(language, key, **values), back))


def _session_of(state: DialogState) -> str:
    session_id = str(state.data.get(SESSION_KEY) or "")
    if len(session_id) != 24:
        raise OutdatedButton("no session in the dialog state")
    return session_id


async def ask_checkin(update: Update, context: FokContext, data: Callback) -> None:
    session_id = _session_arg(data)
    roster = await context.services.bookings.staff_roster(
        context.resident.telegram_id, session_id, PageRequest(size=1)
    )
    when = format_when(roster.session.starts_at, roster.complex_.timezone, context.language)
    await _ask(
        update,
        context,
        dialog.STAFF_SESSION_CHECKIN,
        session_id,
        "staff.sessions.ask_code",
        when=when,
    )


async def on_checkin_code(
    update: Update, context: FokContext, text: str, state: DialogState
) -> None:
    """Each code typed marks one person present; the step stays open for the next one."""
    language = context.language
    session_id = _session_of(state)
    back = inline([[button(t(language, "staff.sessions.done"), A.SESSION, session_id, 0)]])
    try:
        entry = await context.services.bookings.check_in(
            context.resident.telegram_id, session_id, text
        )
    except DomainError as error:
        reply = invalid_text(language, error) + "\n\n" + t(language, "staff.sessions.next_code")
        await send(update, context, Screen(reply, back))
        return
    reply = t(language, "staff.sessions.checked_in", name=entry.name)
    await send(
        update, context, Screen(reply + "\n\n" + t(language, "staff.sessions.next_code"), back)
    )


async def ask_capacity(update: Update, context: FokContext, data: Callback) -> None:
    session_id = _session_arg(data)
    roster = await context.services.bookings.staff_roster(
        context.resident.telegram_id, session_id, PageRequest(size=1)
    )
    session = roster.session
    await _ask(
        update,
        context,
        dialog.STAFF_SESSION_CAPACITY,
        session_id,
        "staff.sessions.ask_capacity",
        capacity=session.capacity,
        booked=session.booked,
        waiting=len(roster.waitlist),
    )


async def on_capacity(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    language = context.language
    session_id = _session_of(state)
    staff_id = context.resident.telegram_id
    try:
        changed = await context.services.bookings.change_capacity(staff_id, session_id, text)
    except DomainError as error:
        back = inline(
            [[button(t(language, "staff.sessions.to_session"), A.SESSION, session_id, 0)]]
        )
        await send(update, context, Screen(invalid_text(language, error), back))
        return
    await _leave(update, context)
    roster = await context.services.bookings.staff_roster(
        staff_id, session_id, PageRequest(size=ROSTER_PAGE_SIZE)
    )
    note = t(language, "staff.sessions.capacity_set", capacity=changed.capacity)
    await send(update, context, await _roster_screen(context, roster, note))


async def ask_cancel(update: Update, context: FokContext, data: Callback) -> None:
    session_id = _session_arg(data)
    roster = await context.services.bookings.staff_roster(
        context.resident.telegram_id, session_id, PageRequest(size=1)
    )
    await _ask(
        update,
        context,
        dialog.STAFF_SESSION_CANCEL,
        session_id,
        "staff.sessions.ask_reason",
        people=roster.seated.total + len(roster.waitlist),
    )


async def on_reason(update: Update, context: FokContext, text: str, state: DialogState) -> None:
    """A valid reason is kept in the dialog state until the cancellation is confirmed."""
    language = context.language
    session_id = _session_of(state)
    keep = button(t(language, "staff.sessions.keep"), A.SESSION, session_id, 0)
    try:
        preview = await context.services.bookings.preview_cancel(
            context.resident.telegram_id, session_id, text
        )
    except DomainError as error:
        await send(update, context, Screen(invalid_text(language, error), inline([[keep]])))
        return
    await dialog.enter(
        context.services.dialogs,
        chat_id(update),
        user_id(update),
        dialog.STAFF_SESSION_CANCEL,
        {SESSION_KEY: session_id, REASON_KEY: preview.reason},
    )
    question = t(
        language,
        "staff.sessions.confirm_cancel",
        when=format_when(preview.session.starts_at, preview.complex_.timezone, language),
        reason=preview.reason,
        people=preview.people,
    )
    yes = button(t(language, "staff.sessions.yes_cancel"), A.CONFIRM_CANCEL, session_id)
    await send(update, context, Screen(question, inline([[yes, keep]])))


async def confirm_cancel(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    session_id = _session_arg(data)
    state = await dialog.load(context.services.dialogs, chat_id(update), user_id(update))
    if state.step != dialog.STAFF_SESSION_CANCEL or _session_of(state) != session_id:
        raise OutdatedButton("the reason was not typed for this session")
    staff_id = context.resident.telegram_id
    try:
        closed = await context.services.bookings.cancel_session(
            staff_id, session_id, str(state.data.get(REASON_KEY) or "")
        )
    except ValidationFailed as error:
        await answer(update, context, invalid_text(language, error), alert=True)
        return
    await _leave(update, context)
    roster = await context.services.bookings.staff_roster(
        staff_id, session_id, PageRequest(size=ROSTER_PAGE_SIZE)
    )
    note = t(language, "staff.sessions.cancelled", people=closed.notified)
    await show(update, context, await _roster_screen(context, roster, note))


ROUTES = Routes(
    StaffSessionAction,
    {
        A.COMPLEXES: complexes,
        A.SCHEDULE: schedule,
        A.NEW: new_draft,
        A.SPORT: choose_sport,
        A.WEEKDAY: choose_weekday,
        A.DURATION: choose_duration,
        A.CREATE: create,
        A.ABORT: abort,
        A.TEMPLATES: templates,
        A.TEMPLATE: toggle_template,
        A.SESSION: session_card,
        A.ATTEND: attend,
        A.ALL_CAME: all_came,
        A.CHECKIN: ask_checkin,
        A.WAITLIST: waitlist,
        A.CAPACITY: ask_capacity,
        A.CANCEL: ask_cancel,
        A.CONFIRM_CANCEL: confirm_cancel,
    },
    steps=(
        Step(dialog.STAFF_SESSION_DRAFT, text=on_draft_text, cancellable=True),
        Step(dialog.STAFF_SESSION_CHECKIN, text=on_checkin_code, cancellable=True),
        Step(dialog.STAFF_SESSION_CAPACITY, text=on_capacity, cancellable=True),
        Step(dialog.STAFF_SESSION_CANCEL, text=on_reason, cancellable=True),
    ),
)
