"""The composition root: builds clients, repositories and services inside the running process.

Called after fork (ASGI lifespan, Celery worker_process_init, a CLI command), never at import.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio.cluster import RedisCluster
from telegram import Bot

from bot.infra.calendar import IcsCalendarRenderer
from bot.infra.clock import SystemClock
from bot.infra.metrics import PrometheusRedisPoolObserver, PrometheusTelegramCallObserver
from bot.infra.mongo.applications import MongoApplicationRepository
from bot.infra.mongo.audit import MongoAuditRepository
from bot.infra.mongo.bookings import MongoBookingRepository
from bot.infra.mongo.catalog import MongoCatalogRepository
from bot.infra.mongo.client import Document, create_mongo_client, database
from bot.infra.mongo.outbox import MongoOutboxNotifier
from bot.infra.mongo.reminders import MongoReminderRepository
from bot.infra.mongo.sessions import MongoSessionRepository
from bot.infra.mongo.users import MongoUserRepository
from bot.infra.phones import PhoneNumbersNormalizer
from bot.infra.redis.client import connect_redis_cluster
from bot.infra.redis.dialog_state import RedisDialogStateStore
from bot.infra.redis.flood import RedisFloodLimiter
from bot.infra.redis.outbound import OutboundLimits, RedisOutboundLimiter
from bot.infra.telegram.request import LimitedRequest
from bot.services.applications import ApplicationService
from bot.services.bookings import BookingService
from bot.services.catalog import CatalogService
from bot.services.ports.ephemeral import DialogStateStore
from bot.services.ports.system import Clock
from bot.services.reminders import ReminderService
from bot.services.schedule import ScheduleService
from bot.services.users import UserService
from bot.settings import LimitSettings, MongoSettings, Settings
from bot.telegram.deps import BotDeps


@dataclass
class Storage:
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

    async def close(self) -> None:
        await self.client.close()


@dataclass
class Services:
    users: UserService
    catalog: CatalogService
    applications: ApplicationService
    schedule: ScheduleService
    bookings: BookingService
    reminders: ReminderService
    calendar: IcsCalendarRenderer
    clock: Clock


def build_storage(
    mongo_url: str,
    database_name: str,
    *,
    app_name: str,
    clock: Clock | None = None,
    timeout_ms: int = 5000,
) -> Storage:
    client = create_mongo_client(mongo_url, app_name=app_name, timeout_ms=timeout_ms)
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
    )


def storage_from_settings(settings: MongoSettings, *, app_name: str) -> Storage:
    return build_storage(
        settings.url.get_secret_value(),
        settings.database,
        app_name=app_name,
        timeout_ms=settings.timeout_ms,
    )


def build_services(storage: Storage, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    s = storage
    return Services(
        users=UserService(
            s.users, s.applications, s.catalog, s.audit, PhoneNumbersNormalizer(), clock
        ),
        catalog=CatalogService(s.catalog),
        applications=ApplicationService(
            s.applications, s.users, s.catalog, s.audit, s.outbox, clock
        ),
        schedule=ScheduleService(s.sessions, s.catalog, s.users, s.audit, clock),
        bookings=BookingService(
            s.bookings, s.sessions, s.catalog, s.users, s.reminders, s.outbox, clock
        ),
        reminders=ReminderService(s.reminders, clock),
        calendar=IcsCalendarRenderer(),
        clock=clock,
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


def build_bot(settings: Settings, redis: RedisCluster, users: UserService) -> Bot:
    """A Bot whose sends wait for the cluster-wide limiter; a 403 marks the user unreachable."""
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
    return Bot(
        settings.telegram.bot_token.get_secret_value(),
        base_url=f"{api_base}/bot",
        base_file_url=f"{api_base}/file/bot",
        request=LimitedRequest(
            limiter=limiter,
            on_unreachable=users.mark_unreachable_chat,
            observer=PrometheusTelegramCallObserver(),
            connection_pool_size=settings.telegram.http_pool_size,
            read_timeout=settings.telegram.request_timeout_seconds,
        ),
    )


def build_bot_deps(
    services: Services,
    redis: RedisCluster,
    limits: LimitSettings,
    *,
    dialogs: DialogStateStore | None = None,
) -> BotDeps:
    return BotDeps(
        users=services.users,
        catalog=services.catalog,
        applications=services.applications,
        schedule=services.schedule,
        bookings=services.bookings,
        calendar=services.calendar,
        dialogs=dialogs or RedisDialogStateStore(redis),
        flood=RedisFloodLimiter(
            redis, limit=limits.user_updates_per_window, window_s=limits.user_window_seconds
        ),
        clock=services.clock,
    )
