"""The NoticeSender port over python-telegram-bot: word a notice as the bot would, then send it.

Failures are sorted for the delivery service: a blocked bot is final (the user is unreachable),
throttling and network faults are retried later, anything else Telegram refuses is not retried.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.services.container import Services
from bot.services.ports.system import DeliveryResult, OutboxNotice, ReminderNotice
from bot.telegram.notifications import Notice, deliver, outbox_notice, reminder_notice

log = logging.getLogger(__name__)


class TelegramNoticeSender:
    def __init__(self, services: Services, bot: Bot) -> None:
        self._services = services
        self._bot = bot

    async def send_notice(self, notice: OutboxNotice) -> DeliveryResult:
        return await self._send(await outbox_notice(self._services, notice), notice.entry.kind)

    async def send_reminder(self, notice: ReminderNotice) -> DeliveryResult:
        return await self._send(await reminder_notice(self._services, notice), "reminder")

    async def _send(self, notice: Notice, kind: str) -> DeliveryResult:
        try:
            await deliver(self._bot, notice)
        except Forbidden:
            return DeliveryResult.UNREACHABLE
        except (RetryAfter, TimedOut):
            return DeliveryResult.RETRY
        except BadRequest as error:
            # Our own message was refused: retrying cannot help; it must be seen and fixed.
            log.error("telegram refused a %s notice: %s", kind, error.message)
            return DeliveryResult.SKIPPED
        except NetworkError:
            return DeliveryResult.RETRY
        return DeliveryResult.SENT
