"""A Celery worker process's wiring: the composition root's process plus outbox delivery.

Built inside the worker process's own event loop after fork (design §4 rule 7); its Bot sends
through the same cluster-wide outbound limiter as the webhook instances (rule 5). Workers import
one module of the Telegram layer, the notice sender, so that notices and reminders are worded
exactly as the bot words them; import-linter allows that one import and no other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.bootstrap import Process, ProcessRole, open_process
from bot.services.container import Services
from bot.services.delivery import DeliveryService
from bot.settings import Settings
from bot.telegram.notice_sender import TelegramNoticeSender


@dataclass
class WorkerRuntime:
    process: Process
    delivery: DeliveryService

    @property
    def services(self) -> Services:
        return self.process.services


@asynccontextmanager
async def open_worker(settings: Settings, *, name: str = "worker") -> AsyncIterator[WorkerRuntime]:
    async with open_process(settings, ProcessRole.WORKER, name=name) as process:
        storage = process.storage
        delivery = DeliveryService(
            storage.outbox,
            process.services.reminders,
            storage.users,
            storage.bookings,
            TelegramNoticeSender(process.services, process.require_bot()),
            applications=storage.applications,
            sessions=storage.sessions,
            catalog=storage.catalog,
        )
        yield WorkerRuntime(process, delivery)
