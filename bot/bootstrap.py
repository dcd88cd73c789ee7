"""The composition root: every process kind (web worker, Celery worker, CLI) is wired here.

``open_process`` is entered after fork (the ASGI lifespan, Celery's ``worker_process_init``, a CLI
command), never at import: the MongoDB and Redis clients are neither fork-safe nor shareable across
event loops (design §4 rule 7). It opens the clients in order on an ``AsyncExitStack`` and closes
them in reverse; a close that fails is logged and never replaces the error that ended the process.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from telegram import Bot

from bot.domain.bookings import NoShowRule
from bot.infra.calendar import IcsCalendarRenderer
from bot.infra.catalog_cache import CachedCatalogRepository
from bot.infra.charts import MatplotlibChartRenderer
from bot.infra.clock import SystemClock
from bot.infra.excel import OpenpyxlWorkbookRenderer
from bot.infra.export_queue import CeleryExportQueue, NoExportQueue
from bot.infra.health import Probe, mongo_probe, redis_cluster_probe, redis_probe
from bot.infra.logs import configure_logging
from bot.infra.metrics import (
    DialogStateErrorCounter,
    PrometheusBusinessEvents,
    PrometheusRedisPoolObserver,
    PrometheusTelegramCallObserver,
)
from bot.infra.mongo.applications import MongoApplicationRepository
from bot.infra.mongo.audit import MongoAuditRepository
from bot.infra.mongo.bookings import MongoBookingRepository
from bot.infra.mongo.broadcasts import MongoBroadcastAudiences, MongoBroadcastRepository
from bot.infra.mongo.catalog import MongoCatalogRepository
from bot.infra.mongo.client import Document, create_mongo_client, database
from bot.infra.mongo.exports import MongoExportJobRepository
from bot.infra.mongo.outbox import MongoOutboxNotifier
from bot.infra.mongo.reminders import MongoReminderRepository
from bot.infra.mongo.sessions import MongoSessionRepository
from bot.infra.mongo.users import MongoUserRepository
from bot.infra.mongo.weekly_reports import MongoStaffPreferences, MongoWeeklyReportLog
from bot.infra.phones import PhoneNumbersNormalizer
from bot.infra.redis.client import close_redis_cluster, connect_redis_cluster
from bot.infra.redis.dialog_state import RedisDialogStateStore
from bot.infra.redis.flood import RedisFloodLimiter
from bot.infra.redis.outbound import OutboundLimits, RedisOutboundLimiter, SendPurpose
from bot.infra.telegram.request import SENDING_METHODS, LimitedRequest
from bot.infra.tracing import Tracing, configure_tracing
from bot.services.container import Repositories, Services
from bot.services.container import build_services as build_services_over
from bot.services.operators import OperatorAudit
from bot.services.ports.ephemeral import (
    DialogState,
    DialogStateStore,
    FloodLimiter,
    FloodVerdict,
    JsonDict,
)
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.reports import ExportQueue, ReportAdapters
from bot.services.ports.system import Clock
from bot.services.reports import WeeklySchedule
from bot.services.users import UserService
from bot.settings import MongoSettings, Settings, TracingSettings, load_section

log = logging.getLogger(__name__)


class ProcessRole(enum.StrEnum):
    WEB = "web"  # a gunicorn worker serving the webhook
    WORKER = "worker"  # a Celery worker process
    CLI = "cli"  # an operator command: the database only


@dataclass
class Storage:
    """The MongoDB client and the adapters over it."""

    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    users: MongoUserRepository
    catalog: MongoCatalogRepository
    applications: MongoApplicationRepository
    sessions: MongoSessionRepository
    bookings: MongoBookingRepository
    reminders: MongoReminderRepository
    audit: MongoAuditRepository
    outbox: MongoOutboxNotifier
    broadcasts: MongoBroadcastRepository
    audiences: MongoBroadcastAudiences
    staff_preferences: MongoStaffPreferences
    report_log: MongoWeeklyReportLog

    def repositories(self) -> Repositories:
        return Repositories(
            users=self.users,
            catalog=self.catalog,
            applications=self.applications,
            sessions=self.sessions,
            bookings=self.bookings,
            reminders=self.reminders,
            audit=self.audit,
            outbox=self.outbox,
            broadcasts=self.broadcasts,
            audiences=self.audiences,
            staff_preferences=self.staff_preferences,
            report_log=self.report_log,
        )

    async def close(self) -> None:
        await self.client.close()


@dataclass
class Process:
    """What one process has open; valid inside ``open_process`` only."""

    role: ProcessRole
    name: str
    storage: Storage
    services: Services
    redis: RedisCluster | None
    bot: Bot | None
    probes: dict[str, Probe]

    def require_redis(self) -> RedisCluster:
        if self.redis is None:
            raise RuntimeError(f"a {self.role} process has no Redis Cluster client")
        return self.redis

    def require_bot(self) -> Bot:
        if self.bot is None:
            raise RuntimeError(f"a {self.role} process has no Bot")
        return self.bot


class NoEphemeralState:
    """Dialog state and flood control for a process without Redis (the CLI, service tests).

    Nothing there handles a chat, so any use is a wiring mistake and says so.
    """

    async def get(self, chat_id: int, user_id: int) -> DialogState | None:
        raise RuntimeError("this process has no dialog state store (no Redis)")

    async def set_if_version(
        self, chat_id: int, user_id: int, step: str, data: JsonDict, expected_version: int
    ) -> DialogState:
        raise RuntimeError("this process has no dialog state store (no Redis)")

    async def clear(self, chat_id: int, user_id: int) -> None:
        raise RuntimeError("this process has no dialog state store (no Redis)")

    async def hit(self, user_id: int) -> FloodVerdict:
        raise RuntimeError("this process has no flood limiter (no Redis)")


def build_storage(
    mongo_url: str,
    database_name: str,
    *,
    app_name: str,
    clock: Clock | None = None,
    timeout_ms: int = 5000,
    operation_timeout_ms: int | None = None,
) -> Storage:
    client = create_mongo_client(
        mongo_url,
        app_name=app_name,
        timeout_ms=timeout_ms,
        operation_timeout_ms=operation_timeout_ms,
    )
    db = database(client, database_name)
    return Storage(
        client=client,
        db=db,
        users=MongoUserRepository(db),
        catalog=MongoCatalogRepository(db),
        applications=MongoApplicationRepository(db),
        sessions=MongoSessionRepository(db),
        bookings=MongoBookingRepository(db),
        reminders=MongoReminderRepository(db),
        audit=MongoAuditRepository(db),
        outbox=MongoOutboxNotifier(db, clock or SystemClock()),
        broadcasts=MongoBroadcastRepository(db),
        audiences=MongoBroadcastAudiences(db),
        staff_preferences=MongoStaffPreferences(db),
        report_log=MongoWeeklyReportLog(db),
    )


def build_services(
    storage: Storage,
    clock: Clock | None = None,
    *,
    redis: RedisCluster | None = None,
    settings: Settings | None = None,
    events: BusinessEvents = NO_EVENTS,
    catalog_cache_s: float = 0.0,
    operator: str | None = None,
    export_queue: ExportQueue | None = None,
) -> Services:
    """The services over ``storage``; dialog state and flood control over ``redis`` when given.

    With ``catalog_cache_s`` > 0 the catalog is read from an in-process copy at most that stale.
    With ``operator`` (an operator's OS login, the CLI) the audit entries of operator actions
    (actor 0) name that operator.
    """
    if redis is not None:
        limits = settings.limits if settings is not None else None
        dialogs: DialogStateStore = DialogStateErrorCounter(RedisDialogStateStore(redis))
        flood: FloodLimiter = RedisFloodLimiter(
            redis,
            limit=limits.user_updates_per_window if limits else 20,
            window_s=limits.user_window_seconds if limits else 10.0,
        )
    else:
        dialogs = flood = NoEphemeralState()
    repos = storage.repositories()
    if catalog_cache_s > 0:
        repos = replace(repos, catalog=CachedCatalogRepository(storage.catalog, catalog_cache_s))
    if operator is not None:
        repos = replace(repos, audit=OperatorAudit(storage.audit, operator))
    return build_services_over(
        repos,
        clock=clock or SystemClock(),
        phones=PhoneNumbersNormalizer(),
        calendar=IcsCalendarRenderer(),
        dialogs=dialogs,
        flood=flood,
        reports=ReportAdapters(
            charts=MatplotlibChartRenderer(),
            workbooks=OpenpyxlWorkbookRenderer(),
            jobs=MongoExportJobRepository(storage.db),
            # Large exports go to the workers from the web tier only (``export_queue``).
            queue=export_queue or NoExportQueue(),
        ),
        events=events,
        no_show=(
            NoShowRule(
                settings.no_show.limit, settings.no_show.window_days, settings.no_show.block_days
            )
            if settings is not None
            else None
        ),
        weekly=(
            WeeklySchedule(
                settings.report.weekly_day,
                settings.report.weekly_at,
                settings.app.default_timezone,
            )
            if settings is not None
            else None
        ),
    )


async def connect_redis(settings: Settings, *, client_name: str) -> RedisCluster:
    """The process's Redis Cluster client, topology loaded before the first burst."""
    password = settings.redis.password.get_secret_value() if settings.redis.password else None
    return await connect_redis_cluster(
        settings.redis.cluster_nodes,
        max_connections=settings.redis.max_connections,
        password=password,
        pool_observer=PrometheusRedisPoolObserver(),
        client_name=client_name,
    )


def outbound_limits(settings: Settings, purpose: SendPurpose) -> OutboundLimits:
    """What the sends of ``purpose`` wait for (design §4 rule 5; bot/infra/redis/outbound.py).

    Every send keeps to the per-chat and group limits and the cluster-wide 429 pause. Bulk sends
    (the workers') also share the global budget ``LIMITS_GLOBAL_SENDS_PER_SECOND``; replies (the
    web tier's) have none, unless ``LIMITS_REPLY_SENDS_PER_SECOND`` gives them a cap of their own.
    """
    limits = settings.limits
    rate = (
        limits.reply_sends_per_second or None
        if purpose is SendPurpose.REPLY
        else limits.global_sends_per_second
    )
    return OutboundLimits(
        chat_interval_s=limits.chat_send_interval_seconds or 0.001,
        group_interval_s=60.0 / limits.group_sends_per_minute,
        global_rate_per_s=rate,
        global_jitter_s=limits.global_send_jitter_seconds,
    )


def _limited_bot(
    settings: Settings,
    limiter: RedisOutboundLimiter,
    users: UserService,
    limited_methods: frozenset[str] = SENDING_METHODS,
) -> Bot:
    api_base = str(settings.telegram.api_base_url).rstrip("/")
    return Bot(
        settings.telegram.bot_token.get_secret_value(),
        base_url=f"{api_base}/bot",
        base_file_url=f"{api_base}/file/bot",
        request=LimitedRequest(
            limiter=limiter,
            on_unreachable=users.mark_unreachable_chat,
            observer=PrometheusTelegramCallObserver(),
            limited_methods=limited_methods,
            connection_pool_size=settings.telegram.http_pool_size,
            read_timeout=settings.telegram.request_timeout_seconds,
        ),
    )


def build_bot(
    settings: Settings, redis: RedisCluster, users: UserService, *, purpose: SendPurpose
) -> Bot:
    """A Bot whose sends wait for the cluster-wide limiter of ``purpose``; a 403 marks the user
    unreachable. The web tier's Bot replies (``SendPurpose.REPLY``), the workers' sends bulk."""
    limiter = RedisOutboundLimiter(redis, outbound_limits(settings, purpose), purpose)
    return _limited_bot(settings, limiter, users)


def build_broadcast_bot(
    settings: Settings, redis: RedisCluster, users: UserService
) -> tuple[Bot, RedisOutboundLimiter]:
    """The Bot broadcasts go out with, and the limiter their sender waits for itself.

    The broadcast sender takes its slot from the limiter, marks the recipient as being sent, and
    only then sends, so ``sendMessage`` is not limited a second time in the request; 429 pauses
    and 403s are handled as for every send. A broadcast is a bulk send; with
    ``LIMITS_ALLOW_PAID_BROADCAST`` its rate is the paid one
    (``LIMITS_PAID_BROADCAST_SENDS_PER_SECOND``): it shares the cluster's bulk slots with the other
    bulk sends, which therefore still never exceed their own budget.
    """
    limits = outbound_limits(settings, SendPurpose.BULK)
    if settings.limits.allow_paid_broadcast:
        limits = replace(limits, global_rate_per_s=settings.limits.paid_broadcast_sends_per_second)
    limiter = RedisOutboundLimiter(redis, limits, SendPurpose.BULK)
    bot = _limited_bot(settings, limiter, users, SENDING_METHODS - {"sendMessage"})
    return bot, limiter


def close_quietly(what: str, close: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    """``close`` for an exit stack: a failure is logged, never raised over the original error."""

    async def quietly() -> None:
        try:
            await close()
        except Exception:
            log.exception("closing the %s failed", what)

    return quietly


def process_secrets(settings: Settings) -> list[str]:
    """What neither a log line nor a span may carry (bot/infra/logs.py, bot/infra/tracing.py)."""
    return [
        settings.telegram.bot_token.get_secret_value(),
        settings.telegram.webhook_secret.get_secret_value(),
        settings.mongo.url.get_secret_value(),
        settings.celery.broker_url.get_secret_value(),
        settings.redis.password.get_secret_value() if settings.redis.password else "",
    ]


def start_tracing(
    settings: TracingSettings, role: ProcessRole, name: str, secrets: list[str]
) -> Tracing | None:
    """This process's tracing (docs/tracing.md), or None when ``TRACING_ENABLED`` is off: then
    no provider exists and nothing is instrumented. Once per process: a Celery worker calls it
    at ``worker_process_init`` (before its first task's span), again in ``open_process``."""
    if not settings.enabled:
        return None
    return configure_tracing(
        service_name=f"{settings.service_name}-{role}",
        instance=name,
        endpoint=str(settings.otlp_endpoint),
        sample_ratio=settings.sample_ratio,
        secrets=secrets,
        celery=role is ProcessRole.WORKER,
    )


@asynccontextmanager
async def open_process(
    settings: Settings | MongoSettings,
    role: ProcessRole,
    *,
    name: str | None = None,
    clock: Clock | None = None,
    operator: str | None = None,
) -> AsyncIterator[Process]:
    """Open what a process of ``role`` needs, yield it, close it in reverse order.

    The CLI may pass only ``MongoSettings``: an operator command needs the database alone, and
    ``operator``, the OS login its audit entries name.
    """
    full = settings if isinstance(settings, Settings) else None
    mongo = full.mongo if full is not None else settings
    assert isinstance(mongo, MongoSettings)
    if full is None and role is not ProcessRole.CLI:
        raise TypeError(f"a {role} process needs the whole Settings, not only MongoSettings")
    process_name = name or (full.web.instance_id if full is not None else role.value)
    secrets = process_secrets(full) if full is not None else [mongo.url.get_secret_value()]
    if full is not None:
        configure_logging(
            instance=process_name,
            level=full.app.log_level,
            json=full.app.log_json,
            secrets=secrets,
        )
    tracing = start_tracing(
        full.tracing if full is not None else load_section(TracingSettings),
        role,
        process_name,
        secrets,
    )
    async with AsyncExitStack() as stack:
        if tracing is not None:
            # Last out: the spans of the closing itself, then whatever is still batched.
            stack.callback(tracing.flush)
            if role is ProcessRole.CLI:
                # An operator command is one trace: its database calls under one span.
                stack.enter_context(tracing.tracer.start_as_current_span(f"cli {process_name}"))
        storage = build_storage(
            mongo.url.get_secret_value(),
            mongo.database,
            app_name=f"fok-{role}/{process_name}",
            clock=clock,
            timeout_ms=mongo.timeout_ms,
            # The webhook path only: below the update deadline (MONGO_OPERATION_TIMEOUT_MS).
            operation_timeout_ms=mongo.operation_timeout_ms if role is ProcessRole.WEB else None,
        )
        stack.push_async_callback(close_quietly("MongoDB client", storage.close))
        redis: RedisCluster | None = None
        bot: Bot | None = None
        if full is not None and role is not ProcessRole.CLI:
            cluster = await connect_redis(full, client_name=f"fok-{role}-{process_name}")
            stack.push_async_callback(
                close_quietly("Redis Cluster client", lambda: close_redis_cluster(cluster))
            )
            redis = cluster
        export_queue: ExportQueue | None = None
        if full is not None and role is ProcessRole.WEB:
            # Large exports are handed to the workers by task name (queue ``reports``).
            producer = CeleryExportQueue(full.celery.broker_url.get_secret_value())
            stack.callback(producer.close)
            export_queue = producer
        services = build_services(
            storage,
            clock,
            redis=redis,
            settings=full,
            # Counted by this process's own /metrics (the web tier's or the workers').
            events=PrometheusBusinessEvents() if role is not ProcessRole.CLI else NO_EVENTS,
            # The CLI writes the catalog and exits: it keeps no copy.
            catalog_cache_s=(
                full.app.catalog_cache_seconds
                if full is not None and role is not ProcessRole.CLI
                else 0.0
            ),
            operator=operator if role is ProcessRole.CLI else None,
            export_queue=export_queue,
        )
        if full is not None and redis is not None:
            # The web tier only replies into the chat of the update it handles; every send the
            # bot makes on its own goes through the workers (the outbox, tasks): bulk.
            purpose = SendPurpose.REPLY if role is ProcessRole.WEB else SendPurpose.BULK
            bot = build_bot(full, redis, services.users, purpose=purpose)
            if role is ProcessRole.WORKER:
                # The web tier's PTB Application initialises (and shuts down) its own Bot.
                await bot.initialize()
                stack.push_async_callback(close_quietly("Bot", bot.shutdown))
        probes: dict[str, Probe] = {"mongodb": mongo_probe(storage.client)}
        if redis is not None:
            probes["redis_cluster"] = redis_cluster_probe(redis)
        if full is not None and role is ProcessRole.WEB:
            # Only probed (readiness shows it); the web tier enqueues nothing itself.
            broker = Redis.from_url(full.celery.broker_url.get_secret_value(), socket_timeout=2.0)
            stack.push_async_callback(close_quietly("broker client", broker.aclose))
            probes["broker"] = redis_probe(broker)
        yield Process(role, process_name, storage, services, redis, bot, probes)
