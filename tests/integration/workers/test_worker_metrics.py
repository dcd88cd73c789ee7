"""The workers' own metrics: queue lengths read from the real broker at scrape time, and the
delivery gauges and counters under the names the alert rules use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.domain.reminders import ReminderStats
from bot.services.delivery import DeliveryBacklog, DeliveryReport
from bot.services.ports.system import OutboxStats
from devcluster.redis import StandaloneRedisServer
from workers.metrics import QueueLengthCollector, record_backlog, record_delivery
from workers.schedule import QUEUES

pytestmark = pytest.mark.integration


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_queue_lengths_come_from_the_broker_at_each_scrape(
    broker_redis: StandaloneRedisServer,
) -> None:
    broker = redis.Redis.from_url(broker_redis.url)
    broker.rpush("reminders", "a", "b", "c")
    broker.rpush("reminders\x06\x169", "urgent")  # kombu's list for priority 9 of that queue
    broker.rpush("backups", "nightly")
    registry = CollectorRegistry()
    registry.register(QueueLengthCollector(broker_redis.url))
    first = samples(registry)
    assert {q: first[("fok_celery_queue_length", (("queue", q),))] for q in QUEUES} == {
        "notifications": 0,
        "reminders": 4,
        "reports": 0,
        "backups": 1,
        "fok": 0,
    }
    broker.delete("reminders")
    assert samples(registry)[("fok_celery_queue_length", (("queue", "reminders"),))] == 1
    broker.close()


def test_an_unreachable_broker_leaves_the_queue_gauge_out_instead_of_failing_the_scrape() -> None:
    registry = CollectorRegistry()
    registry.register(QueueLengthCollector("redis://127.0.0.1:1/0"))
    assert not [k for k in samples(registry) if k[0] == "fok_celery_queue_length"]


def test_delivery_counts_lags_and_backlog_under_the_alerted_names() -> None:
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = value("fok_delivery_total", kind="reminder", outcome="stale")
    lags_before = value("fok_reminder_delivery_lag_seconds_count")
    record_delivery("reminder", DeliveryReport(sent=2, stale=3, lags_s=(1.5, 42.0)))
    assert value("fok_delivery_total", kind="reminder", outcome="stale") == before + 3
    assert value("fok_reminder_delivery_lag_seconds_count") == lags_before + 2

    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    record_backlog(
        DeliveryBacklog(
            OutboxStats(backlog=7, oldest_created_at=now - timedelta(minutes=2), parked=1),
            ReminderStats(overdue=4, oldest_due_at=now - timedelta(minutes=10), parked=2),
        ),
        now,
    )
    assert value("fok_outbox_backlog") == 7
    assert value("fok_outbox_oldest_age_seconds") == 120
    assert value("fok_outbox_parked") == 1
    assert value("fok_reminder_lag_seconds") == 600
    assert value("fok_reminders_parked") == 2
    record_backlog(DeliveryBacklog(OutboxStats(0, None, 0), ReminderStats(0, None, 0)), now)
    assert (value("fok_outbox_oldest_age_seconds"), value("fok_reminder_lag_seconds")) == (0, 0)
