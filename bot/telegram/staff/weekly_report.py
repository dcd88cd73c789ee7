"""«📊 Еженедельный отчёт»: when it comes and over which complexes, turn it on or off, and get
last week's now. The service authorises (staff only) and audits; this module draws."""

from __future__ import annotations

from telegram import Update

from bot.services.reporting import ReportScope
from bot.services.reports import WeeklyReportSettings
from bot.telegram.actions import StaffReportAction
from bot.telegram.callbacks import Callback, OutdatedButton
from bot.telegram.context import FokContext
from bot.telegram.keyboards import button, inline
from bot.telegram.report_sender import report_labels, send_report
from bot.telegram.routing import Routes
from bot.telegram.screens import Screen, answer, chat_id, show, user_id
from bot.telegram.staff.hub import hub_button
from bot.telegram.texts import t

R = StaffReportAction


def _scope(language: str, scope: ReportScope) -> str:
    if not scope.narrowed:
        return t(language, "report.all")
    return ", ".join(c.name.get(language) for c in scope.complexes) or "—"


def _screen(language: str, settings: WeeklyReportSettings) -> Screen:
    schedule = settings.schedule
    text = t(
        language,
        "report.screen",
        every=t(language, f"report.every.{schedule.weekday}"),
        at=schedule.at,
        timezone=schedule.timezone,
        scope=_scope(language, settings.scope),
        state=t(language, "report.state_on" if settings.enabled else "report.state_off"),
    )
    toggle = (
        button(t(language, "report.turn_off"), R.TOGGLE, "0")
        if settings.enabled
        else button(t(language, "report.turn_on"), R.TOGGLE, "1")
    )
    rows = [[toggle], [button(t(language, "report.now"), R.NOW)], hub_button(language)]
    return Screen(text, inline(rows))


async def view(update: Update, context: FokContext, _: Callback) -> None:
    settings = await context.services.reports.settings(user_id(update))
    await show(update, context, _screen(context.language, settings))


async def toggle(update: Update, context: FokContext, data: Callback) -> None:
    flag = data.arg(0)
    if flag not in ("0", "1"):
        raise OutdatedButton("not a flag")
    settings = await context.services.reports.set_enabled(user_id(update), flag == "1")
    await show(update, context, _screen(context.language, settings))


async def now(update: Update, context: FokContext, _: Callback) -> None:
    language = context.language
    report = await context.services.reports.build(user_id(update), report_labels(language))
    await answer(update, context)
    await send_report(context.bot, chat_id(update), language, report)


ROUTES = Routes(StaffReportAction, {R.VIEW: view, R.TOGGLE: toggle, R.NOW: now})
