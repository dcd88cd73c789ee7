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

from bot.bootstrap import Services, Storage, build_services, storage_from_settings
from bot.infra.logs import configure_logging
from bot.infra.metrics import (
    PrometheusRedisPoolObserver,
    PrometheusTelegramCallObserver,
    instrument_business_events,
)
from bot.infra.redis.client import close_redis_cluster, connect_redis_cluster
from bot.infra.redis.dialog_state import RedisDialogStateStore
from bot.infra.redis.flood import RedisFloodLimiter
from bot.infra.redis.outbound import OutboundLimits, RedisOutboundLimiter
from bot.infra.telegram.request import LimitedRequest
from bot.services.delivery import DeliveryService
from bot.settings import Settings
from bot.telegram.deps import BotDeps
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
        password = settings.redis.password.get_secret_value() if settings.redis.password else None
        redis = await connect_redis_cluster(
            settings.redis.cluster_nodes,
            max_connections=settings.redis.max_connections,
            password=password,
            pool_observer=PrometheusRedisPoolObserver(),
            client_name=f"fok-{name}",
        )
        closers.append(lambda: close_redis_cluster(redis))
        limits = settings.limits
        limiter = RedisOutboundLimiter(
            redis,
            OutboundLimits(
                chat_interval_s=limits.chat_send_interval_seconds or 0.001,
                group_interval_s=60.0 / limits.group_sends_per_minute,
                global_rate_per_s=limits.global_sends_per_second,
            ),
        )
        api_base = str(settings.telegram.api_base_url).rstrip("/")
        bot = Bot(
            settings.telegram.bot_token.get_secret_value(),
            base_url=f"{api_base}/bot",
            base_file_url=f"{api_base}/file/bot",
            request=LimitedRequest(
                limiter=limiter,
                on_unreachable=services.users.mark_unreachable_chat,
                observer=PrometheusTelegramCallObserver(),
                connection_pool_size=settings.telegram.http_pool_size,
                read_timeout=settings.telegram.request_timeout_seconds,
            ),
        )
        await bot.initialize()
        closers.append(bot.shutdown)
        deps = BotDeps(
            users=services.users,
            catalog=services.catalog,
            applications=services.applications,
            schedule=services.schedule,
            bookings=services.bookings,
            calendar=services.calendar,
            dialogs=RedisDialogStateStore(redis),
            flood=RedisFloodLimiter(
                redis, limit=limits.user_updates_per_window, window_s=limits.user_window_seconds
            ),
            clock=services.clock,
        )
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
