"""«📥 Выгрузка в Excel» (from the statistics): applications with their history, or bookings with
attendance, for the statistics' period and complexes, as an .xlsx document.

A small export is sent at once; a large one is built by a worker, which shows its progress in a
message of its own and sends the file when it is ready (``bot.telegram.export_sender``).
"""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.constants import ParseMode

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import Attendance, BookingStatus
from bot.services.exports import ExportOutcome, ExportRequest, ExportResult
from bot.services.ports.reports import ExportKind
from bot.telegram.actions import StaffExportAction, StaffStatsAction
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.keyboards import Row, button, inline
from bot.telegram.routing import Routes
from bot.telegram.screens import Screen, answer, chat_id, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.staff.stats import complex_arg, day, period_arg
from bot.telegram.texts import TEXTS, t

E = StaffExportAction
# The export a button makes, by its marker in callback data (never change one).
KINDS = {"a": ExportKind.APPLICATIONS, "b": ExportKind.BOOKINGS}
LABEL_PREFIXES = ("staff.export.sheet.", "staff.export.col.")


def export_labels(language: str) -> dict[str, str]:
    """The words of the workbooks (``bot.services.exports``) in ``language``."""
    labels: dict[str, str] = {"language": language, "all": t(language, "staff.stats.all")}
    for key in TEXTS:
        for prefix in LABEL_PREFIXES:
            if key.startswith(prefix):
                labels[key.removeprefix("staff.export.")] = t(language, key)
    for status in ApplicationStatus:
        labels[f"status.{status.value}"] = t(language, f"status.{status.value}")
    for booking in BookingStatus:
        labels[f"booking.{booking.value}"] = t(language, f"staff.export.booking.{booking.value}")
    for attendance in Attendance:
        labels[f"attendance.{attendance.value}"] = t(
            language, f"staff.export.attendance.{attendance.value}"
        )
    labels["who.applicant"] = t(language, "staff.export.who.applicant")
    labels["who.staff"] = t(language, "staff.export.who.staff", id="{id}")
    labels["yes"] = t(language, "staff.export.yes")
    labels["no"] = t(language, "staff.export.no")
    return labels


def _scope(language: str, names: list[str], narrowed: bool) -> str:
    if not narrowed:
        return t(language, "staff.stats.all")
    return ", ".join(names) or t(language, "staff.stats.none_assigned")


def _back_rows(language: str, period: str, reference: str) -> list[Row]:
    return [
        [button(t(language, "staff.export.again"), E.MENU, period, reference)],
        [button(t(language, "staff.stats.to_stats"), StaffStatsAction.VIEW, period, reference)],
        hub_button(language),
    ]


async def menu(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    kind = period_arg(data)
    preview = await context.services.exports.preview(user_id(update), kind, complex_arg(data))
    reference = data.arg(1)
    scope = preview.scope
    text = t(
        language,
        "staff.export.menu",
        first=day(preview.period.first),
        last=day(preview.period.last),
        scope=_scope(language, [c.name.get(language) for c in scope.complexes], scope.narrowed),
    )
    rows: list[Row] = [
        [
            button(
                t(language, f"staff.export.kind.{export.value}"),
                E.RUN,
                marker,
                kind.value,
                reference,
            )
        ]
        for marker, export in KINDS.items()
    ]
    rows.append(
        [button(t(language, "staff.stats.to_stats"), StaffStatsAction.VIEW, kind.value, reference)]
    )
    rows.append(hub_button(language))
    await show(update, context, Screen(text, inline(rows)))


def outcome_text(language: str, outcome: ExportOutcome) -> str:
    title = t(language, f"staff.export.title.{outcome.kind.value}")
    period = outcome.period
    if outcome.result is ExportResult.BUILT:
        return t(language, "staff.export.ready", title=title, rows=outcome.rows)
    if outcome.result is ExportResult.QUEUED:
        return t(language, "staff.export.queued", title=title, rows=outcome.rows)
    if outcome.result is ExportResult.EMPTY:
        return t(language, "staff.export.empty", first=day(period.first), last=day(period.last))
    if outcome.result is ExportResult.TOO_LARGE:
        return t(language, "staff.export.too_large", rows=outcome.rows, limit=outcome.limit)
    return t(language, "staff.export.unavailable")


async def run(update: Update, context: FokContext, data: Callback) -> None:
    language = context.language
    export = KINDS.get(data.arg(0))
    if export is None:
        raise OutdatedButton("unknown export")
    kind = period_arg(data, 1)
    reference = complex_arg(data, 2)
    outcome = await context.services.exports.request(
        user_id(update),
        ExportRequest(export, kind, reference, chat_id(update), language, export_labels(language)),
    )
    screen = Screen(
        outcome_text(language, outcome), inline(_back_rows(language, kind.value, data.arg(2)))
    )
    await show(update, context, screen)
    if outcome.file is None:
        return
    await answer(update, context)  # the button stops spinning before the upload
    scope = outcome.scope
    await context.bot.send_document(
        chat_id(update),
        InputFile(outcome.file.content, filename=outcome.file.filename),
        caption=t(
            language,
            "staff.export.caption",
            title=t(language, f"staff.export.title.{outcome.kind.value}"),
            first=day(outcome.period.first),
            last=day(outcome.period.last),
            scope=_scope(language, [c.name.get(language) for c in scope.complexes], scope.narrowed),
        ),
        parse_mode=ParseMode.HTML,
    )


ROUTES = Routes(StaffExportAction, {E.MENU: menu, E.RUN: run})
