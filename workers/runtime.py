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
from datetime import timedelta

from bot.bootstrap import Process, ProcessRole, build_broadcast_bot, open_process
from bot.infra.faults import is_transient
from bot.infra.tracing import OtelDeliveryTracing
from bot.services.broadcasts import BroadcastFanout, FanoutPolicy
from bot.services.container import Services
from bot.services.delivery import DeliveryPolicy, DeliveryService
from bot.settings import BroadcastSettings, CelerySettings, Settings
from bot.telegram.broadcast_sender import TelegramBroadcastSender
from bot.telegram.export_sender import TelegramExportSender
from bot.telegram.notice_sender import TelegramNoticeSender
from bot.telegram.report_sender import TelegramWeeklyReportSender


@dataclass
class WorkerRuntime:
    process: Process
    delivery: DeliveryService
    settings: Settings
    # Large exports: the worker shows their progress and sends the file (staff statistics).
    exports: TelegramExportSender
    # Broadcasts: fanned out through their own Bot (bot.bootstrap.build_broadcast_bot).
    broadcasts: BroadcastFanout
    # The weekly report: its files sent through the process's Bot (the outbound limiter).
    weekly_reports: TelegramWeeklyReportSender

    @property
    def services(self) -> Services:
        return self.process.services

    @property
    def run_budget(self) -> timedelta:
        """How long one delivery run claims new items."""
        return timedelta(seconds=self.settings.celery.delivery_run_seconds)


def delivery_policy(settings: CelerySettings) -> DeliveryPolicy:
    return DeliveryPolicy(
        lease=timedelta(seconds=settings.delivery_lease_seconds),
        retry_initial=timedelta(seconds=settings.delivery_retry_initial_seconds),
        retry_max=timedelta(seconds=settings.delivery_retry_max_seconds),
        poison_attempts=settings.delivery_poison_attempts,
        notice_max_age=timedelta(seconds=settings.delivery_notice_max_age_seconds),
    )


def fanout_policy(settings: BroadcastSettings) -> FanoutPolicy:
    return FanoutPolicy(
        lease=timedelta(seconds=settings.lease_seconds),
        concurrency=settings.concurrency,
        progress_every=timedelta(seconds=settings.progress_seconds),
    )


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
            policy=delivery_policy(settings.celery),
            # MongoDB or Redis away, Telegram's 5xx and 429: retried, never counted as poison.
            is_transient=is_transient,
            # Each delivery continues the trace of the update that wrote it (docs/tracing.md).
            tracing=OtelDeliveryTracing(),
        )
        exports = TelegramExportSender(process.require_bot())
        broadcast_bot, limiter = build_broadcast_bot(
            settings, process.require_redis(), process.services.users
        )
        await broadcast_bot.initialize()
        try:
            broadcasts = BroadcastFanout(
                storage.broadcasts,
                storage.audiences,
                storage.users,
                TelegramBroadcastSender(
                    process.services,
                    broadcast_bot,
                    limiter,
                    paid=settings.limits.allow_paid_broadcast,
                ),
                process.services.clock,
                policy=fanout_policy(settings.broadcast),
                name=name,
                is_transient=is_transient,
            )
            weekly = TelegramWeeklyReportSender(process.require_bot())
            yield WorkerRuntime(process, delivery, settings, exports, broadcasts, weekly)
        finally:
            await broadcast_bot.shutdown()
