"""Per-process wiring of a Celery worker: storage, services, the limited Bot and delivery.

Built inside the worker process's own event loop after fork (design §4 rule 7); the Bot sends
through the same cluster-wide outbound limiter as the webhook instances (rule 5).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster
from telegram import Bot

from bot.bootstrap import (
    Services,
    Storage,
    build_bot,
    build_bot_deps,
    build_services,
    connect_redis,
    storage_from_settings,
)
from bot.infra.logs import configure_logging
from bot.infra.metrics import instrument_business_events
from bot.infra.redis.client import close_redis_cluster
from bot.services.delivery import DeliveryService
from bot.settings import Settings
from bot.telegram.notice_sender import TelegramNoticeSender

log = logging.getLogger(__name__)


@dataclass
class WorkerRuntime:
    settings: Settings
    storage: Storage
    services: Services
    redis: RedisCluster
    bot: Bot
    delivery: DeliveryService
    _closers: list[Callable[[], Awaitable[None]]]

    async def close(self) -> None:
        for close in reversed(self._closers):
            try:
                await close()
            except Exception:
                log.exception("closing a worker client failed")


async def start_worker_runtime(settings: Settings, *, name: str = "worker") -> WorkerRuntime:
    configure_logging(
        instance=name,
        level=settings.app.log_level,
        json=settings.app.log_json,
        secrets=[settings.telegram.bot_token.get_secret_value()],
    )
    storage = storage_from_settings(settings.mongo, app_name=f"fok-{name}")
    closers: list[Callable[[], Awaitable[None]]] = [storage.close]
    try:
        services = build_services(storage)
        # Offers expired and reminders sent here are counted by the workers' own /metrics.
        instrument_business_events(bookings=services.bookings, reminders=services.reminders)
        redis = await connect_redis(settings, client_name=f"fok-{name}")
        closers.append(lambda: close_redis_cluster(redis))
        bot = build_bot(settings, redis, services.users)
        await bot.initialize()
        closers.append(bot.shutdown)
        deps = build_bot_deps(services, redis, settings.limits)
        delivery = DeliveryService(
            storage.outbox,
            services.reminders,
            storage.users,
            storage.bookings,
            TelegramNoticeSender(deps, bot),
        )
    except BaseException:
        for close in reversed(closers):
            await close()
        raise
    return WorkerRuntime(settings, storage, services, redis, bot, delivery, closers)
