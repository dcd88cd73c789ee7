"""Per-process wiring of a bot instance: everything one webhook worker needs, built after fork.

``start_runtime`` runs inside the worker's event loop (the ASGI lifespan), never at import: the
MongoDB and Redis clients are neither fork-safe nor shareable across loops (design §4 rule 7).
``Runtime.process_update`` runs one update through the PTB application and reports which handler
took it and whether it failed transiently (so the web tier can answer 5xx and Telegram retries).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import pymongo.errors
import telegram.error
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from telegram import Bot, Update
from telegram.ext import Application, ContextTypes

from bot.bootstrap import (
    Services,
    Storage,
    build_bot,
    build_bot_deps,
    build_services,
    connect_redis,
    storage_from_settings,
)
from bot.domain.users import Role
from bot.infra import metrics
from bot.infra.logs import configure_logging
from bot.infra.metrics import (
    DialogStateErrorCounter,
)
from bot.infra.redis.client import close_redis_cluster
from bot.infra.redis.dedup import RedisUpdateDeduplicator
from bot.infra.redis.dialog_state import RedisDialogStateStore
from bot.services.ports.ephemeral import OutboundWaitTooLong, UpdateDeduplicator
from bot.settings import Settings
from bot.telegram.deps import BotDeps
from bot.telegram.errors import TransientFailure, process_update_or_raise
from bot.telegram.errors import is_transient as product_is_transient

log = logging.getLogger(__name__)

ApplicationFactory = Callable[[BotDeps, Bot], Application[Any, Any, Any, Any, Any, Any]]
PtbApplication = Application[Any, Any, Any, Any, Any, Any]

DEPENDENCY_CHECK_TIMEOUT_S = 2.0
# The processing mark outlives the longest an owner may work on an update by this margin, so a
# live owner always finishes or aborts before anyone else may take over.
DEDUP_MARK_MARGIN_S = 5.0
MIN_UPDATE_DEADLINE_S = 5.0


def update_deadline_s(settings: Settings) -> float:
    """The longest one update may be processed.

    Tied to ``WEB_DRAIN_SECONDS``: shutdown waits that long for in-flight updates, so an update
    allowed to run longer would be cut by a restart anyway. A dead owner's mark expires
    ``DEDUP_MARK_MARGIN_S`` later, which is how long a retry of its updates waits (503s).
    """
    return max(settings.web.drain_seconds, MIN_UPDATE_DEADLINE_S)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transient(error: BaseException) -> bool:
    """True when the error, or what caused it, is a fault a later retry may not meet again.

    The product's classification (``bot.telegram.errors``), except that a Bot API ``BadRequest``
    is never transient even though PTB derives it from ``NetworkError``: the same request would
    be refused again, and a 5xx would make Telegram redeliver the update for hours.
    """
    for cause in _causes(error):
        if isinstance(cause, telegram.error.BadRequest):
            return False
        if isinstance(cause, OutboundWaitTooLong) or product_is_transient(cause):
            return True
    return False


@dataclass
class UpdateTrace:
    """What happened to one update inside PTB (filled by the wrappers installed below)."""

    handler: str | None = None
    transient_error: BaseException | None = None
    error: BaseException | None = None


_current_trace: contextvars.ContextVar[UpdateTrace | None] = contextvars.ContextVar(
    "fok_update_trace", default=None
)


def handler_name(callback: Callable[..., Any]) -> str:
    """A bounded label: the feature module and function that handle the update."""
    module = getattr(callback, "__module__", "") or ""
    qualname = getattr(callback, "__qualname__", type(callback).__name__)
    return f"{module.rsplit('.', 1)[-1]}.{qualname}" if module else qualname


HandlerCallback = Callable[[Any, Any], Coroutine[Any, Any, Any]]


def _instrument(callback: HandlerCallback) -> HandlerCallback:
    name = handler_name(callback)

    @wraps(callback)
    async def timed(update: object, context: Any) -> Any:
        trace = _current_trace.get()
        if trace is not None:
            trace.handler = name
        started = time.perf_counter()
        try:
            return await callback(update, context)
        finally:
            metrics.HANDLER_DURATION.labels(handler=name).observe(time.perf_counter() - started)

    return timed


def instrument_handlers(application: PtbApplication) -> None:
    """Time every handler callback and note which one took the update.

    Done from outside so that ``bot.telegram`` stays free of metrics code.
    """
    for handlers in application.handlers.values():
        for handler in handlers:
            callback = getattr(handler, "callback", None)
            if callback is not None and asyncio.iscoroutinefunction(callback):
                handler.callback = _instrument(callback)


async def _record_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    trace = _current_trace.get()
    error = context.error
    if trace is None or error is None:
        return
    trace.error = error
    if is_transient(error):
        trace.transient_error = error


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    ok: bool
    latency_ms: float
    version: str | None = None
    error: str | None = None


@dataclass
class Runtime:
    settings: Settings
    storage: Storage
    services: Services
    redis: RedisCluster
    broker: Redis
    dedup: UpdateDeduplicator
    bot: Bot
    application: PtbApplication
    started_at: float = field(default_factory=time.time)
    _closed: bool = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def instance_id(self) -> str:
        return self.settings.web.instance_id

    async def process_update(self, payload: dict[str, Any]) -> UpdateTrace:
        """Run one update through PTB in this task; the trace says what happened."""
        trace = UpdateTrace()
        token = _current_trace.set(trace)
        try:
            update = Update.de_json(payload, self.bot)
            await process_update_or_raise(self.application, update)
        except TransientFailure as failure:
            if is_transient(failure.cause):
                trace.transient_error = failure.cause
        finally:
            _current_trace.reset(token)
        return trace

    async def check_dependencies(self) -> list[DependencyStatus]:
        checks = await asyncio.gather(
            _timed_check("mongodb", self._mongo_version),
            _timed_check("redis_cluster", self._redis_cluster_version),
            _timed_check("broker", self._broker_version),
        )
        for status in checks:
            metrics.DEPENDENCY_UP.labels(dependency=status.name).set(1 if status.ok else 0)
        return list(checks)

    async def _mongo_version(self) -> str | None:
        await self.storage.client.admin.command("ping")
        try:
            info = await self.storage.client.admin.command("buildInfo")
        except pymongo.errors.OperationFailure:
            return None
        return str(info.get("version")) if info.get("version") else None

    async def _redis_cluster_version(self) -> str | None:
        node = self.redis.get_random_node()
        if not await self.redis.ping(target_nodes=RedisCluster.PRIMARIES):
            raise ConnectionError("a Redis Cluster primary did not answer PING")
        info = await self.redis.info("server", target_nodes=node)
        return _redis_version(info)

    async def _broker_version(self) -> str | None:
        info = await self.broker.info("server")
        return _redis_version(info)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for step_name, step in (
            ("application", self.application.shutdown),
            ("redis cluster", lambda: close_redis_cluster(self.redis)),
            ("broker", self.broker.aclose),
            ("mongodb", self.storage.close),
        ):
            try:
                await step()
            except Exception:
                log.exception("closing the %s client failed", step_name)


def _redis_version(info: Any) -> str | None:
    if isinstance(info, dict):
        if "redis_version" in info:
            return str(info["redis_version"])
        for value in info.values():  # per-node answers
            if isinstance(value, dict) and "redis_version" in value:
                return str(value["redis_version"])
    return None


async def _timed_check(name: str, probe: Callable[[], Awaitable[str | None]]) -> DependencyStatus:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DEPENDENCY_CHECK_TIMEOUT_S):
            version = await probe()
    except Exception as error:
        latency = (time.perf_counter() - started) * 1000
        return DependencyStatus(name, False, round(latency, 2), error=type(error).__name__)
    latency = (time.perf_counter() - started) * 1000
    return DependencyStatus(name, True, round(latency, 2), version=version)


async def _grant_super_admins(services: Services, ids: list[int]) -> None:
    """Idempotent: a super admin already in place is left alone (no audit entry per restart)."""
    for telegram_id in ids:
        user = await services.users.get(telegram_id)
        if user is not None and user.role is Role.SUPER_ADMIN:
            continue
        await services.users.set_role(None, telegram_id, Role.SUPER_ADMIN)
        log.info("granted super_admin from APP_SUPER_ADMIN_IDS", extra={"user_id": telegram_id})


def _product_application_factory() -> ApplicationFactory:
    # Imported on use: tests of the web tier inject a probe application instead.
    from bot.telegram.application import build_application

    return build_application


async def start_runtime(
    settings: Settings, *, application_factory: ApplicationFactory | None = None
) -> Runtime:
    """Build and connect everything this process needs; on failure, close what was opened."""
    factory = application_factory or _product_application_factory()
    configure_logging(
        instance=settings.web.instance_id,
        level=settings.app.log_level,
        json=settings.app.log_json,
        secrets=[
            settings.telegram.bot_token.get_secret_value(),
            settings.telegram.webhook_secret.get_secret_value(),
        ],
    )
    storage = storage_from_settings(settings.mongo, app_name=f"fok-bot/{settings.web.instance_id}")
    opened: list[Callable[[], Awaitable[None]]] = [storage.close]
    try:
        services = build_services(storage)
        metrics.instrument_business_events(
            users=services.users,
            applications=services.applications,
            bookings=services.bookings,
            reminders=services.reminders,
        )
        redis_cluster = await connect_redis(
            settings, client_name=f"fok-bot-{settings.web.instance_id}"
        )
        opened.append(lambda: close_redis_cluster(redis_cluster))
        broker: Redis = Redis.from_url(
            settings.celery.broker_url.get_secret_value(), socket_timeout=2.0
        )
        opened.append(broker.aclose)
        bot = build_bot(settings, redis_cluster, services.users)
        deps = build_bot_deps(
            services,
            redis_cluster,
            settings.limits,
            dialogs=DialogStateErrorCounter(RedisDialogStateStore(redis_cluster)),
        )
        application = factory(deps, bot)
        instrument_handlers(application)
        # Last in line: the product's own error handler answers the user first.
        application.add_error_handler(_record_error, block=True)
        await application.initialize()
        opened.append(application.shutdown)
        await _grant_super_admins(services, settings.app.super_admin_ids)
        dedup = RedisUpdateDeduplicator(
            redis_cluster, processing_ttl_s=update_deadline_s(settings) + DEDUP_MARK_MARGIN_S
        )
    except BaseException:
        for close in reversed(opened):
            try:
                await close()
            except Exception:
                log.exception("cleanup after a failed start failed")
        raise
    log.info("runtime started", extra={"event": "runtime_started"})
    return Runtime(
        settings=settings,
        storage=storage,
        services=services,
        redis=redis_cluster,
        broker=broker,
        dedup=dedup,
        bot=bot,
        application=application,
    )
