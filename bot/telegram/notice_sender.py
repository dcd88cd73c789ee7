"""The NoticeSender port over python-telegram-bot: word a notice as the bot would, then send it.

Failures are sorted for the delivery service, with what Telegram said: a blocked bot is final (the
user is unreachable); throttling (with its ``retry_after``), 5xx and network faults are transient;
a message Telegram refuses (400) is a failure a retry is unlikely to fix, recorded with its
description. A send that could not leave before ``not_after`` (it waited for the cluster-wide
limiter, say through a long 429 pause) is given up as stale instead of arriving late.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.services.container import Services
from bot.services.ports.system import DeliveryResult, OutboxNotice, ReminderNotice, SendOutcome
from bot.telegram.notifications import Notice, deliver, outbox_notice, reminder_notice

log = logging.getLogger(__name__)


class TelegramNoticeSender:
    def __init__(self, services: Services, bot: Bot) -> None:
        self._services = services
        self._bot = bot

    async def send_notice(
        self, notice: OutboxNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        rendered = await outbox_notice(self._services, notice)
        return await self._send(rendered, notice.entry.kind, not_after)

    async def send_reminder(
        self, notice: ReminderNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        return await self._send(
            await reminder_notice(self._services, notice), "reminder", not_after
        )

    async def _send(self, notice: Notice, kind: str, not_after: datetime | None) -> SendOutcome:
        left_s = None
        if not_after is not None:
            left_s = (not_after - self._services.clock.now()).total_seconds()
            if left_s <= 0:
                return SendOutcome(DeliveryResult.STALE, "stale before it could be sent")
        try:
            async with asyncio.timeout(left_s):
                await deliver(self._bot, notice)
        except TimeoutError:
            return SendOutcome(DeliveryResult.STALE, "went stale while waiting to be sent")
        except Forbidden as error:
            return SendOutcome(DeliveryResult.UNREACHABLE, error.message)
        except RetryAfter as error:
            wait = error.retry_after  # a timedelta with PTB_TIMEDELTA set, else int seconds
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return SendOutcome(DeliveryResult.RETRY, error.message, seconds)
        except BadRequest as error:
            # Our own message was refused: retrying the same cannot help; it must be seen and fixed.
            log.error("telegram refused a %s notice: %s", kind, error.message)
            return SendOutcome(DeliveryResult.FAILED, f"Bad Request: {error.message}")
        except NetworkError as error:  # 5xx, timeouts, connection errors
            return SendOutcome(DeliveryResult.RETRY, error.message)
        except TelegramError as error:  # anything else Telegram answered (409, 401, ...)
            return SendOutcome(DeliveryResult.FAILED, error.message)
        return SendOutcome(DeliveryResult.SENT)
