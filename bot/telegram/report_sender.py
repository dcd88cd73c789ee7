"""The weekly report as the bot shows it: the workbook's words, the file's caption, and the
WeeklyReportSender port over python-telegram-bot (a document sent through the outbound limiter,
like every bulk send of the workers)."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.domain.applications import ApplicationStatus
from bot.domain.users import User
from bot.services.ports.reports import Labels
from bot.services.ports.weekly_reports import ReportSendResult
from bot.services.reports import WeeklyReport
from bot.telegram.texts import TEXTS, Markup, t

log = logging.getLogger(__name__)
SCOPE_LENGTH = 300  # of the caption's list of complexes (a caption holds 1024 characters)


def report_labels(language: str) -> dict[str, str]:
    """The words of the weekly workbook (``bot.services.reports``) in ``language``."""
    labels = {"language": language, "all": t(language, "report.all")}
    for key in TEXTS:
        if key.startswith(("report.sheet.", "report.col.")):
            labels[key.removeprefix("report.")] = t(language, key)
    labels["total"] = t(language, "report.total")
    for status in ApplicationStatus:
        labels[f"status.{status.value}"] = t(language, f"status.{status.value}")
    return labels


def report_caption(language: str, report: WeeklyReport) -> str:
    figures = report.figures
    statuses = [
        t(
            language,
            "report.caption_status",
            name=t(language, f"status.{status.value}"),
            count=count,
        )
        for status, count in figures.by_status.items()
    ]
    scope = report.scope_name
    if len(scope) > SCOPE_LENGTH:
        scope = scope[: SCOPE_LENGTH - 1] + "…"
    return t(
        language,
        "report.caption",
        first=f"{report.period.first:%d.%m}",
        last=f"{report.period.last:%d.%m.%Y}",
        scope=scope,
        applications=figures.applications,
        statuses=Markup(f" ({', '.join(statuses)})" if statuses else ""),
        sessions=figures.sessions,
        bookings=figures.bookings,
        attended=figures.attended,
        no_shows=figures.no_shows,
    )


async def send_report(bot: Bot, chat_id: int, language: str, report: WeeklyReport) -> None:
    await bot.send_document(
        chat_id,
        InputFile(report.content, filename=report.filename),
        caption=report_caption(language, report),
        parse_mode=ParseMode.HTML,
    )


class TelegramWeeklyReportSender:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    def labels(self, language: str) -> Labels:
        return report_labels(language)

    async def send(self, staff: User, report: WeeklyReport) -> tuple[ReportSendResult, str | None]:
        try:
            await send_report(self._bot, staff.telegram_id, staff.language, report)
        except Forbidden as error:
            return ReportSendResult.UNREACHABLE, error.message
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return ReportSendResult.RETRY, f"{error.message} ({seconds:.0f} s)"
        except BadRequest as error:
            log.error("telegram refused the weekly report to %s: %s", staff.telegram_id, error)
            return ReportSendResult.FAILED, f"Bad Request: {error.message}"
        except NetworkError as error:  # 5xx, timeouts, connection errors
            return ReportSendResult.RETRY, error.message
        except TelegramError as error:
            return ReportSendResult.FAILED, error.message
        return ReportSendResult.SENT, None
