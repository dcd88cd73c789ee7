"""«📊 Статистика» (every staff role): people, applications, bookings, occupancy, no-shows and the
most popular complexes and sports for a period, over the staff member's complexes or one of them;
«📈 График» sends the same figures as a chart, «📥 Выгрузка в Excel» opens the exports.

A manager's figures are those of their complexes only: the service decides, from their role.
"""

from __future__ import annotations

from telegram import InputFile, Update

from bot.domain.applications import ApplicationStatus
from bot.domain.reports import PeriodKind
from bot.services.statistics import Figures, StatisticsReport, StatsScope
from bot.telegram.actions import StaffExportAction, StaffStatsAction
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, in_pairs, inline
from bot.telegram.routing import Routes
from bot.telegram.screens import Screen, answer, chat_id, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.staff.render import STATUS_EMOJI
from bot.telegram.texts import Markup, join, m, t

A = StaffStatsAction
ALL = "-"  # no complex picked: every complex the staff member may see
PERIOD_ROWS = (
    (PeriodKind.TODAY, PeriodKind.WEEK, PeriodKind.MONTH),
    (PeriodKind.QUARTER, PeriodKind.THIS_MONTH, PeriodKind.LAST_MONTH),
)
DEFAULT_PERIOD = PeriodKind.MONTH
REFERENCE_LENGTH = 6


def period_arg(data: Callback, index: int = 0) -> PeriodKind:
    try:
        return PeriodKind(data.arg(index))
    except ValueError as error:
        raise OutdatedButton("unknown period") from error


def complex_arg(data: Callback, index: int = 1) -> str | None:
    """A complex's button reference (``complex_reference``), or None for every complex."""
    value = data.arg(index)
    if value == ALL:
        return None
    if len(value) != REFERENCE_LENGTH or any(ch not in "0123456789abcdef" for ch in value):
        raise OutdatedButton("bad complex reference")
    return value


def percent(value: float | None, language: str) -> str:
    return f"{value:.0%}" if value is not None else t(language, "staff.stats.no_data")


def day(value: object) -> str:
    return f"{value:%d.%m.%Y}"


def scope_text(language: str, report: StatisticsReport) -> str:
    """«все ФОК», one complex's name, or «мои ФОК: …»."""
    if not report.narrowed:
        return t(language, "staff.stats.all")
    if not report.complexes:
        return t(language, "staff.stats.none_assigned")
    if len(report.complexes) == 1:
        return report.complexes[0].name.get(language)
    names = ", ".join(c.name.get(language) for c in report.complexes)
    return t(language, "staff.stats.mine", names=names)


def _popular(language: str, key: str, figures: tuple[Figures, ...]) -> Markup:
    if not figures:
        return Markup("")
    lines = [
        m(
            language,
            "staff.stats.popular_line",
            name=f.name.get(language),
            applications=f.applications,
            booked=f.booked,
        )
        for f in figures
    ]
    return m(language, key, lines=join(lines, ""))


def _attendance(language: str, report: StatisticsReport) -> Markup:
    unmarked = m(language, "staff.stats.unmarked", count=report.unmarked) if report.unmarked else ""
    if report.marked == 0:
        return m(language, "staff.stats.no_marks", unmarked=Markup(unmarked))
    return m(
        language,
        "staff.stats.attendance",
        attended=report.attended,
        no_shows=report.no_shows,
        rate=percent(report.no_show_rate, language),
        unmarked=Markup(unmarked),
    )


def report_text(language: str, report: StatisticsReport) -> str:
    statuses = [
        m(
            language,
            "staff.stats.status_line",
            emoji=STATUS_EMOJI[status],
            status=t(language, f"status.{status.value}"),
            count=count,
        )
        for status, count in report.applications.items()
        if count
    ]
    cancelled = (
        m(language, "staff.stats.cancelled_sessions", count=report.cancelled_sessions)
        if report.cancelled_sessions
        else ""
    )
    popular = join(
        [
            _popular(language, "staff.stats.popular_complexes", report.popular_complexes()),
            _popular(language, "staff.stats.popular_sports", report.popular_sports()),
        ],
        "",
    )
    return t(
        language,
        "staff.stats.title",
        first=day(report.period.first),
        last=day(report.period.last),
        days=report.period.days,
        scope=scope_text(language, report),
        new_users=report.new_users,
        active_users=report.active_users,
        applications=report.total_applications,
        statuses=join(statuses, ""),
        sessions=report.sessions,
        cancelled_sessions=Markup(cancelled),
        booked=report.booked,
        seats=report.seats,
        occupancy=percent(report.occupancy, language),
        waitlisted=report.waitlisted,
        cancelled_bookings=report.cancelled_bookings,
        attendance=_attendance(language, report),
        popular=popular,
        zones=", ".join(report.timezones) or "—",
    )


def _period_rows(language: str, chosen: PeriodKind, reference: str) -> list[Row]:
    rows: list[Row] = []
    for kinds in PERIOD_ROWS:
        row: Row = []
        for kind in kinds:
            label = t(language, f"staff.stats.period.{kind.value}")
            if kind is chosen:
                label = t(language, "staff.stats.chosen", label=label)
            row.append(button(label, A.VIEW, kind.value, reference))
        rows.append(row)
    return rows


def report_screen(
    language: str, report: StatisticsReport, kind: PeriodKind, reference: str
) -> Screen:
    if reference != ALL:
        shown = report.complexes[0].name.get(language) if report.complexes else reference
    elif report.narrowed:
        shown = t(language, "staff.stats.scope_mine_short")
    else:
        shown = t(language, "staff.stats.scope_all_short")
    rows = [
        *_period_rows(language, kind, reference),
        [button(t(language, "staff.stats.scope_button", scope=shown), A.SCOPE, kind.value)],
        [
            button(t(language, "staff.stats.chart"), A.CHART, kind.value, reference),
            button(
                t(language, "staff.stats.export"), StaffExportAction.MENU, kind.value, reference
            ),
        ],
        hub_button(language),
    ]
    return Screen(report_text(language, report), inline(rows))


async def view(update: Update, context: FokContext, data: Callback) -> None:
    kind = period_arg(data)
    reference = complex_arg(data)
    report = await context.services.statistics.report(user_id(update), kind, reference)
    await show(update, context, report_screen(context.language, report, kind, data.arg(1)))


def scope_screen(language: str, scope: StatsScope, kind: PeriodKind) -> Screen:
    every = (
        "staff.stats.every_complex" if scope.staff.manages_all_complexes else "staff.stats.all_mine"
    )
    choices = [button(t(language, every), A.VIEW, kind.value, ALL)]
    choices += [
        button(c.name.get(language), A.VIEW, kind.value, scope.reference(c))
        for c in scope.complexes
    ]
    rows = [
        *in_pairs(choices),
        [button(t(language, "staff.stats.to_stats"), A.VIEW, kind.value, ALL)],
    ]
    return Screen(t(language, "staff.stats.pick_scope"), inline(rows))


async def pick_scope(update: Update, context: FokContext, data: Callback) -> None:
    kind = period_arg(data)
    scope = await context.services.statistics.scope(user_id(update))
    await show(update, context, scope_screen(context.language, scope, kind))


def chart_labels(language: str) -> dict[str, str]:
    """The words of the chart image (``bot.services.statistics.chart_spec``)."""
    keys = ("title", "by_complex", "applications", "bookings", "by_status", "count", "occupancy")
    labels = {key: t(language, f"staff.stats.chart.{key}") for key in keys}
    labels["empty"] = t(language, "staff.stats.chart.empty")
    labels["all"] = t(language, "staff.stats.all")
    labels["language"] = language
    for status in ApplicationStatus:
        labels[f"status.{status.value}"] = t(language, f"status.{status.value}")
    return labels


async def chart(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    kind = period_arg(data)
    reference = complex_arg(data)
    drawn = await context.services.statistics.chart(
        user_id(update), kind, reference, chart_labels(language)
    )
    report = drawn.report
    await answer(update, context)
    await context.bot.send_photo(
        chat_id(update),
        InputFile(drawn.png, filename="statistics.png"),
        caption=t(
            language,
            "staff.stats.chart_caption",
            first=day(report.period.first),
            last=day(report.period.last),
            scope=scope_text(language, report),
        ),
        parse_mode="HTML",
    )


ROUTES = Routes(StaffStatsAction, {A.VIEW: view, A.SCOPE: pick_scope, A.CHART: chart})
