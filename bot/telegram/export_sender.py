"""The ExportSender port over python-telegram-bot: what a worker shows while it builds a large
export (one progress message, edited), then the file as a document.

Used by the workers (``workers.runtime``): it imports no handler module. Every send goes through
the worker's Bot and so the cluster-wide outbound limiter.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.services.ports.reports import ExportJob
from bot.telegram.texts import t

log = logging.getLogger(__name__)


def _title(job: ExportJob) -> str:
    return t(job.language, f"staff.export.title.{job.kind.value}")


def _day(iso: str) -> str:
    return f"{date.fromisoformat(iso):%d.%m.%Y}"


class TelegramExportSender:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def progress(self, job: ExportJob, done: int, total: int) -> int | None:
        text = t(job.language, "staff.export.progress", title=_title(job), done=done, total=total)
        return await self._show(job, text)

    async def deliver(self, job: ExportJob, filename: str, content: bytes, rows: int) -> None:
        caption = t(
            job.language,
            "staff.export.caption",
            title=_title(job),
            first=_day(job.first_day),
            last=_day(job.last_day),
            scope=job.labels.get("scope") or t(job.language, "staff.stats.all"),
        )
        await self._bot.send_document(
            job.chat_id,
            InputFile(content, filename=filename),
            caption=caption,
            parse_mode=ParseMode.HTML,
        )
        await self._show(job, t(job.language, "staff.export.done", title=_title(job), rows=rows))

    async def failed(self, job: ExportJob) -> None:
        await self._show(job, t(job.language, "staff.export.failed", title=_title(job)))

    async def _show(self, job: ExportJob, text: str) -> int | None:
        """Edit the job's progress message, or send it the first time; its id."""
        if job.progress_message_id is not None:
            try:
                await self._bot.edit_message_text(
                    text,
                    chat_id=job.chat_id,
                    message_id=job.progress_message_id,
                    parse_mode=ParseMode.HTML,
                )
                return job.progress_message_id
            except BadRequest as error:
                if "not modified" in error.message.lower():
                    return job.progress_message_id
                log.warning("export %s: progress message gone (%s)", job.id, error.message)
        try:
            message = await self._bot.send_message(job.chat_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as error:
            log.warning("export %s: progress not shown (%s)", job.id, error)
            return None
        return message.message_id
