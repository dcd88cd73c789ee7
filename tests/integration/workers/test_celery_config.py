"""The Celery application as configured from CelerySettings: a clear refusal without a broker,
queues by kind with each task routed to one, per-task time limits, and the beat's settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import CelerySettings, SettingsError, env_names, load_section
from workers.config import create_celery
from workers.schedule import QUEUES, beat_schedule, intervals

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
BROKER = "redis://127.0.0.1:6399/0"  # never connected to: configuration only


def settings(**values: object) -> CelerySettings:
    return CelerySettings(broker_url=BROKER, **values)  # type: ignore[arg-type]


def celery(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "celery"), "-A", "workers.celery_app", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_broker_url_a_worker_and_a_beat_refuse_to_start_naming_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    for command in (["worker"], ["beat"]):
        done = celery(*command, env=env)
        assert done.returncode != 0
        assert done.stderr.strip().splitlines() == [
            "fok workers cannot start: invalid configuration:",
            "  CELERY_BROKER_URL: Field required",
        ]


def test_each_task_goes_to_the_queue_of_its_kind() -> None:
    app = create_celery(settings())
    assert sorted(q.name for q in app.conf.task_queues) == sorted(QUEUES)
    # One exchange, each queue bound by its own name: a routed task lands in one queue alone.
    assert {q.routing_key for q in app.conf.task_queues} == set(QUEUES)
    route = app.amqp.router.route
    expected = {
        "fok.deliver_notices": "notifications",
        "fok.broadcasts": "notifications",
        "fok.deliver_reminders": "reminders",
        "fok.report_export": "reports",
        "fok.backup": "backups",
        "fok.expire_offers": "fok",
        "fok.generate_sessions": "fok",
        "fok.observe_delivery": "fok",
        "fok.something_new": "fok",  # anything not routed: upkeep
    }
    assert {task: route({}, task)["queue"].name for task in expected} == expected
    assert app.conf.task_acks_late
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_connection_max_retries is None  # a broker that is away is waited for


def test_every_task_has_its_own_time_limits_below_the_visibility_timeout() -> None:
    script = (
        "import json, workers.tasks as t; "
        "print(json.dumps({n: [k.soft_time_limit, k.time_limit] "
        "for n, k in t.app.tasks.items() if n.startswith('fok.')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "CELERY_BROKER_URL": BROKER},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    limits = json.loads(done.stdout.strip().splitlines()[-1])
    visibility = create_celery(settings()).conf.broker_transport_options["visibility_timeout"]
    assert {"fok.deliver_notices", "fok.deliver_reminders", "fok.observe_delivery"} <= set(limits)
    for task, (soft, hard) in limits.items():
        assert soft is not None, task
        assert hard is not None, task
        assert 0 < soft < hard < visibility, task
    assert limits["fok.deliver_reminders"][0] > settings().delivery_run_seconds


def test_the_beat_takes_its_lock_and_periods_from_the_settings() -> None:
    configured = settings(
        beat_lock_timeout_seconds=10, beat_takeover_seconds=12, beat_deliver_reminders_seconds=2
    )
    app = create_celery(configured)
    assert app.conf.redbeat_lock_timeout == 10
    assert app.conf.beat_max_loop_interval == configured.beat_loop_seconds == 2
    assert app.conf.beat_scheduler == "workers.beat:FokRedBeatScheduler"
    schedule = beat_schedule(configured)
    every = intervals(configured)
    assert every["fok.deliver_reminders"] == 2
    for task, period in every.items():
        # A run not started within its period is dropped: the next one does the same work.
        assert schedule[task]["schedule"] == period
        assert schedule[task]["options"]["expires"] == period


@pytest.mark.parametrize(
    ("lock", "takeover"),
    [(30, 30), (30, 46), (10, 10)],  # no renewal interval; renewal too rare for the lock
)
def test_a_takeover_time_the_lock_cannot_keep_is_refused(lock: int, takeover: int) -> None:
    with pytest.raises(ValidationError, match="beat_takeover_seconds"):
        settings(beat_lock_timeout_seconds=lock, beat_takeover_seconds=takeover)


def test_retry_delays_must_grow_and_every_setting_is_an_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", BROKER)
    monkeypatch.setenv("CELERY_DELIVERY_RETRY_INITIAL_SECONDS", "60")
    monkeypatch.setenv("CELERY_DELIVERY_RETRY_MAX_SECONDS", "30")
    with pytest.raises(SettingsError, match="CELERY_DELIVERY_RETRY_MAX_SECONDS"):
        load_section(CelerySettings)
    names = set(env_names())
    assert {
        "CELERY_BEAT_LOCK_TIMEOUT_SECONDS",
        "CELERY_BEAT_TAKEOVER_SECONDS",
        "CELERY_DELIVERY_LEASE_SECONDS",
        "CELERY_DELIVERY_POISON_ATTEMPTS",
    } <= names


def test_the_repair_is_on_the_beat_schedule_every_configured_period_on_the_upkeep_queue() -> None:
    schedule = beat_schedule(settings(beat_repair_seconds=120))
    entry = schedule["fok.repair"]
    assert entry["task"] == "fok.repair"
    assert entry["schedule"] == 120
    assert entry["options"]["expires"] == 120  # a run that waited a period is dropped
    assert beat_schedule(settings())["fok.repair"]["schedule"] == 300  # the default
    route = create_celery(settings()).amqp.router.route
    assert route({}, "fok.repair")["queue"].name == "fok"
    assert "CELERY_BEAT_REPAIR_SECONDS" in set(env_names())
