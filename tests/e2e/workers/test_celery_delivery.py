"""Celery workers deliver what is not a reply, through the real broker, beat and emulator.

A staff decision, a freed seat and a due reminder each end as a message in the user's chat with
working buttons, sent by a real ``celery worker`` (and scheduled by a real RedBeat ``beat``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.bootstrap import Services, Storage, build_services, build_storage
from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import BookingStatus
from bot.domain.users import Role
from bot.settings import CelerySettings
from devcluster.celery import CeleryBeat, CeleryWorker
from devcluster.ports import free_port
from devcluster.redis import StandaloneRedisServer
from tests.e2e.conftest import BotStack, metric_sum, parse_metrics
from tests.e2e.journeys.conftest import (
    assert_rendering_clean,
    buttons_of,
    new_person,
    text_of,
)
from workers.config import create_celery
from workers.schedule import DELIVER_NOTICES

pytestmark = pytest.mark.e2e
STAFF_ID = 900


@pytest.fixture
async def backend(bot_stack: BotStack) -> AsyncIterator[tuple[Storage, Services]]:
    storage = build_storage(bot_stack.mongo_url, bot_stack.db_name, app_name="test-staff")
    services = build_services(storage)
    await services.users.set_role(None, STAFF_ID, Role.ADMIN)
    yield storage, services
    await storage.close()


def worker_env(stack: BotStack, **extra: str) -> dict[str, str]:
    env = stack.instances[0].environment()
    return {k: v for k, v in env.items() if not k.startswith(("WEB_", "PROMETHEUS_"))} | extra


def wants_button(label: str) -> Any:
    return lambda message: any(label in text for text, _ in buttons_of(message))


async def test_worker_and_beat_deliver_notices_offers_and_reminders(
    bot_stack: BotStack,
    backend: tuple[Storage, Services],
    broker_redis: StandaloneRedisServer,
    tmp_path: Path,
) -> None:
    storage, services = backend
    client = bot_stack.client
    anna = await new_person(client, "Анна")
    boris = await new_person(client, "Борис")
    await anna.register()
    await boris.register()

    complex_ = (await storage.catalog.list_complexes())[0]
    sport = complex_.sports[0]
    application = (await services.applications.submit(anna.id, complex_.code, sport)).application
    await services.applications.staff_transition(
        STAFF_ID, application.id, ApplicationStatus.ACCEPTED, comment="ждём вас <в понедельник>"
    )

    metrics_port = free_port()
    worker = CeleryWorker(
        tmp_path,
        name="w1",
        env=worker_env(
            bot_stack,
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "worker-metrics"),
            WORKER_METRICS_BIND=f"127.0.0.1:{metrics_port}",
        ),
    )
    await asyncio.to_thread(worker.start)
    try:
        celery = create_celery(CelerySettings(broker_url=broker_redis.url))
        celery.send_task(DELIVER_NOTICES)  # by name, as producers do
        notice = await client.wait_for(anna.id, lambda m: "принят" in text_of(m), timeout=30)
        assert "ждём вас &lt;в понедельник&gt;" in (notice.get("html") or "") or (
            "ждём вас <в понедельник>" in text_of(notice)
        )
        opened = await anna.press(notice, "заявк")
        assert complex_.name.get("ru") in text_of(opened)

        beat = CeleryBeat(
            tmp_path,
            env=worker_env(
                bot_stack,
                CELERY_BEAT_DELIVER_NOTICES_SECONDS="1",
                CELERY_BEAT_DELIVER_REMINDERS_SECONDS="1",
                CELERY_BEAT_OBSERVE_SECONDS="1",
            ),
        )
        await asyncio.to_thread(beat.start)
        try:
            now = services.clock.now()
            session = await services.schedule.create_one_off(
                None,
                complex_code=complex_.code,
                sport_code=sport,
                starts_at=now + timedelta(hours=30),
                duration_minutes=60,
                capacity=1,
            )
            assert (await services.bookings.book(anna.id, session.id)).booked
            assert (await services.bookings.book(boris.id, session.id)).waitlisted
            await services.bookings.cancel(anna.id, f"{session.id}:{anna.id}")

            offer = await client.wait_for(boris.id, wants_button("Беру"), timeout=30)
            await boris.press(offer, "Беру")
            booking = await storage.bookings.get(f"{session.id}:{boris.id}")
            assert booking is not None
            assert booking.status is BookingStatus.ACTIVE

            # Time travel for the reminder only: its due time moves into the past.
            await storage.db.reminders.update_one(
                {"_id": f"{booking.id}:day_before"},
                {"$set": {"due_at": now - timedelta(minutes=1)}},
            )
            reminder = await client.wait_for(boris.id, wants_button("Приду"), timeout=30)
            await boris.press(reminder, "Приду")
            confirmed = await storage.bookings.get(booking.id)
            assert confirmed is not None
            assert confirmed.confirmed_at is not None
            sent = await storage.db.reminders.find_one({"_id": f"{booking.id}:day_before"})
            assert sent is not None
            assert sent["status"] == "sent"

            async with httpx.AsyncClient(timeout=10.0) as http:
                scraped = parse_metrics(
                    (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
                )
            assert (
                metric_sum(
                    scraped, "fok_celery_tasks_total", task=DELIVER_NOTICES, result="success"
                )
                >= 2
            )
            assert metric_sum(scraped, "fok_celery_tasks_total", result="failure") == 0
            assert metric_sum(scraped, "fok_delivery_total", kind="notice", outcome="sent") >= 2
            assert metric_sum(scraped, "fok_reminder_delivery_lag_seconds_count") >= 1
            assert (
                metric_sum(scraped, "fok_celery_task_duration_seconds_count", task=DELIVER_NOTICES)
                >= 2
            )
            # The gauges the periodic fok.observe_delivery sets, and the broker's queues.
            observed = metric_sum(
                scraped, "fok_celery_tasks_total", task="fok.observe_delivery", result="success"
            )
            assert observed >= 1
            gauges = {name for name, _ in scraped}
            assert {
                "fok_outbox_backlog",
                "fok_outbox_oldest_age_seconds",
                "fok_outbox_parked",
                "fok_reminders_overdue",
                "fok_reminder_lag_seconds",
            } <= gauges
            assert {labels for name, labels in scraped if name == "fok_celery_queue_length"} >= {
                (("queue", queue),) for queue in ("notifications", "reminders", "backups")
            }
            assert metric_sum(scraped, "fok_reminders_sent_total", result="sent") >= 1
            assert (
                metric_sum(
                    scraped, "fok_telegram_api_calls_total", method="sendMessage", result="ok"
                )
                >= 3
            )
        finally:
            await asyncio.to_thread(beat.stop)
    finally:
        await asyncio.to_thread(worker.stop)

    # Each thing happened once: both outbox entries sent on the first attempt, no repeated send.
    entries = [
        e
        async for e in storage.db.outbox.find(
            {"kind": {"$in": ["application_status", "seat_offer"]}}
        )
    ]
    assert sorted((e["kind"], e["status"], e["attempts"]) for e in entries) == [
        ("application_status", "sent", 0),
        ("seat_offer", "sent", 0),
    ]
    assert (await client.counters()).get("duplicate_sends_seen", 0) == 0
    await assert_rendering_clean(client)
