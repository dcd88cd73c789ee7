"""Prometheus metrics of the bot tier and the workers (design §4 rule 10).

The names are a contract: ``monitoring/`` alert rules and dashboards use them. Labels are bounded
sets (update types, handler names, Bot API methods, outcomes), never user ids or callback data.

Multiprocess mode: gunicorn runs several worker processes per instance, so
``PROMETHEUS_MULTIPROC_DIR`` is set before Python starts (the launcher does it) and each worker
writes its samples to memory-mapped files there; ``/metrics`` merges them with
:func:`render_metrics`. prometheus-client picks the storage when it is first imported, so this
module must never be imported with the variable set differently in master and workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.domain.applications import ApplicationStatus
from bot.services.ports.ephemeral import (
    DialogState,
    DialogStateStore,
    JsonDict,
    TelegramCallOutcome,
)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST

# Handler latencies span a cached reply (~ms) to a slow database write under load (seconds).
_HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LIMITER_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

UPDATES = Counter(
    "fok_updates_total",
    "Updates processed, by update type and the handler that took it",
    ["type", "handler"],
)
HANDLER_DURATION = Histogram(
    "fok_handler_duration_seconds",
    "Time spent in one handler callback",
    ["handler"],
    buckets=_HANDLER_BUCKETS,
)
WEBHOOK_REQUESTS = Counter(
    "fok_webhook_requests_total", "Webhook requests by HTTP status answered", ["code"]
)
UPDATE_DEDUP = Counter(
    "fok_update_dedup_total", "update_id de-duplication outcomes (new|in_progress|done)", ["result"]
)
INFLIGHT_UPDATES = Gauge(
    "fok_inflight_updates", "Updates being processed right now", multiprocess_mode="livesum"
)
DIALOG_STATE_ERRORS = Counter(
    "fok_dialog_state_errors_total", "Dialog state reads or writes that failed or conflicted"
)
REDIS_MAX_CONNECTIONS_ERRORS = Counter(
    "fok_redis_max_connections_errors_total", "redis-py MaxConnectionsError (a node pool was full)"
)
TELEGRAM_API_CALLS = Counter(
    "fok_telegram_api_calls_total", "Bot API calls by method and result", ["method", "result"]
)
OUTBOUND_LIMITER_WAIT = Histogram(
    "fok_outbound_limiter_wait_seconds",
    "Time a send waited for the cluster-wide limiter",
    buckets=_LIMITER_BUCKETS,
)
REGISTRATIONS = Counter("fok_registrations_total", "Completed user registrations")
APPLICATIONS = Counter(
    "fok_applications_total", "Applications created or moved, by the status reached", ["status"]
)
BOOKINGS = Counter("fok_bookings_total", "Booking attempts by result", ["result"])
WAITLIST_OFFERS = Counter("fok_waitlist_offers_total", "Waitlist seat offers by result", ["result"])
REMINDERS_SENT = Counter("fok_reminders_sent_total", "Reminders by delivery result", ["result"])
REMINDERS_OVERDUE = Gauge(
    "fok_reminders_overdue", "Reminders due but not yet sent", multiprocess_mode="mostrecent"
)
CELERY_TASKS = Counter("fok_celery_tasks_total", "Celery task runs by result", ["task", "result"])
DEPENDENCY_UP = Gauge(
    "fok_dependency_up",
    "1 when the last check of a dependency passed, else 0",
    ["dependency"],
    multiprocess_mode="livemostrecent",
)

# Update kinds the bot may receive; anything else is reported as "other" to keep the label bounded.
KNOWN_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "message_reaction",
        "message_reaction_count",
        "chat_boost",
        "removed_chat_boost",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "purchased_paid_media",
    }
)


def update_type_label(update_type: str | None) -> str:
    return update_type if update_type in KNOWN_UPDATE_TYPES else "other"


class InstanceInfoCollector(Collector):
    """``fok_instance_info{instance}`` = 1: lets a scrape (and a test) tell instances apart.

    A custom collector rather than ``Info``: prometheus-client's ``Info`` does not work in
    multiprocess mode, and the value is constant per process anyway.
    """

    def __init__(self, instance_id: str) -> None:
        self._instance_id = instance_id

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "fok_instance_info", "The bot instance that served this scrape", labels=["instance"]
        )
        family.add_metric([self._instance_id], 1.0)
        yield family


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_ENV))


def render_metrics(instance_id: str) -> bytes:
    """The exposition text: every worker's samples merged (multiprocess) or this process's."""
    info = CollectorRegistry()
    info.register(InstanceInfoCollector(instance_id))
    if not multiprocess_enabled():
        return generate_latest(REGISTRY) + generate_latest(info)
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    return generate_latest(merged) + generate_latest(info)


def mark_worker_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (gunicorn ``child_exit``)."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class PrometheusTelegramCallObserver:
    """Plugs into the outbound request layer (``TelegramCallObserver`` port)."""

    def on_call(self, method: str, outcome: TelegramCallOutcome, duration_s: float) -> None:
        TELEGRAM_API_CALLS.labels(method=method, result=outcome.value).inc()

    def on_limiter_wait(self, method: str, waited_s: float) -> None:
        OUTBOUND_LIMITER_WAIT.observe(waited_s)


class PrometheusRedisPoolObserver:
    """Counts exhausted Redis node pools (``RedisPoolObserver`` port); the node is not a label."""

    def on_max_connections(self, node: str) -> None:
        REDIS_MAX_CONNECTIONS_ERRORS.inc()


class DialogStateErrorCounter:
    """A ``DialogStateStore`` that counts failed reads and writes (conflicts included)."""

    def __init__(self, inner: DialogStateStore) -> None:
        self._inner = inner

    async def get(self, chat_id: int, user_id: int) -> DialogState | None:
        try:
            return await self._inner.get(chat_id, user_id)
        except Exception:
            DIALOG_STATE_ERRORS.inc()
            raise

    async def set_if_version(
        self, chat_id: int, user_id: int, step: str, data: JsonDict, expected_version: int
    ) -> DialogState:
        try:
            return await self._inner.set_if_version(chat_id, user_id, step, data, expected_version)
        except Exception:
            DIALOG_STATE_ERRORS.inc()
            raise

    async def clear(self, chat_id: int, user_id: int) -> None:
        try:
            await self._inner.clear(chat_id, user_id)
        except Exception:
            DIALOG_STATE_ERRORS.inc()
            raise


# --------------------------------------------------------------------------------------------------
# Business counters: the services report what they stored through the BusinessEvents port.
# --------------------------------------------------------------------------------------------------


class PrometheusBusinessEvents:
    """``BusinessEvents`` as counters: registrations, applications, bookings, offers, reminders."""

    def registered(self) -> None:
        REGISTRATIONS.inc()

    def application(self, status: ApplicationStatus) -> None:
        APPLICATIONS.labels(status=status.value).inc()

    def booking(self, result: str) -> None:
        BOOKINGS.labels(result=result).inc()

    def waitlist_offer(self, result: str, count: int = 1) -> None:
        WAITLIST_OFFERS.labels(result=result).inc(count)

    def reminder(self, result: str) -> None:
        REMINDERS_SENT.labels(result=result).inc()

    def reminders_overdue(self, count: int) -> None:
        REMINDERS_OVERDUE.set(count)
