#!/usr/bin/env python3
"""Grafana dashboards of the FOK Bot cluster, built as code with grafana-foundation-sdk.

    .venv/bin/python monitoring/grafana/build_dashboards.py          # write dashboards/*.json
    .venv/bin/python monitoring/grafana/build_dashboards.py --check  # exit 1 if they differ

The JSON files next to this script are what Grafana provisions (provisioning/dashboards); they are
committed, and tests/monitoring/test_grafana_dashboards.py fails when they and these builders
disagree. Every Prometheus query here runs in that test against a Prometheus that scraped the
local cluster under traffic, so use only series the cluster exports (no panel on a metric nobody
exports yet) and keep `$__rate_interval` as the only Grafana variable in a query.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, logs, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import loki as loki_query
from grafana_foundation_sdk.builders.common import StackingConfig
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import LogsSortOrder, StackingMode
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
)

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
# The uids provisioning/datasources/datasources.yml gives the two data sources.
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="prometheus")
LOKI = DataSourceRef(type_val="loki", uid="loki")
TAGS = ["fok-bot"]
# Filesystems that are no disk (the same set as FokHostDiskAlmostFull leaves out, plus overlay).
NOT_DISKS = 'fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.*"'


def _query(expr: str, legend: str = "__auto", ref: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref)
        .range()
        .datasource(PROMETHEUS)
    )


def _thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def _stat(
    title: str,
    expr: str,
    *,
    description: str,
    unit: str = "none",
    steps: tuple[tuple[float | None, str], ...] = ((None, "green"),),
    width: int = 6,
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .with_target(_query(expr))
        .unit(unit)
        .thresholds(_thresholds(*steps))
        .height(4)
        .span(width)
    )


def _series(
    title: str,
    *queries: tuple[str, str],
    description: str,
    unit: str = "short",
    width: int = 12,
    stacked: bool = False,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .fill_opacity(10)
        .height(8)
        .span(width)
    )
    for index, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_query(expr, legend, ref=chr(ord("A") + index)))
    if stacked:
        panel = panel.stacking(StackingConfig().mode(StackingMode.NORMAL))
    return panel


def _logs(title: str, expr: str, *, description: str, width: int = 24) -> logs.Panel:
    return (
        logs.Panel()
        .title(title)
        .description(description)
        .datasource(LOKI)
        .with_target(loki_query.Dataquery().expr(expr).ref_id("A").datasource(LOKI))
        .show_time(True)
        .enable_log_details(True)
        .sort_order(LogsSortOrder.DESCENDING)
        .height(10)
        .span(width)
    )


def _dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("browser")
    )


def overview() -> dashboard.Dashboard:
    return (
        _dashboard(
            "fok-overview",
            "FOK Bot — Overview",
            "Is the bot answering? Instances, the edge, webhook answers, latency, dependencies.",
        )
        .with_row(dashboard.Row("Health"))
        .with_panel(
            _stat(
                "Bot instances up",
                'sum(up{job="fok-bot"})',
                description="Bot instances Prometheus scrapes (3 expected).",
                steps=((None, "red"), (2, "orange"), (3, "green")),
            )
        )
        .with_panel(
            _stat(
                "Instances in HAProxy rotation",
                'sum(haproxy_backend_active_servers{proxy="bots"})',
                description="Instances passing GET /ready at the edge.",
                steps=((None, "red"), (2, "orange"), (3, "green")),
            )
        )
        .with_panel(
            _stat(
                "Webhook 5xx (5 min)",
                'clamp_min(1 - sum(rate(fok_webhook_requests_total{code!~"5.."}[5m]))'
                " / sum(rate(fok_webhook_requests_total[5m])), 0)",
                description="Share of Telegram's webhook calls answered 5xx (Telegram retries them).",
                unit="percentunit",
                steps=((None, "green"), (0.05, "orange"), (0.25, "red")),
            )
        )
        .with_panel(
            _stat(
                "Updates in flight",
                "sum(fok_inflight_updates)",
                description="Updates being processed right now, all instances.",
            )
        )
        .with_row(dashboard.Row("Traffic"))
        .with_panel(
            _series(
                "Updates per second by type",
                ("sum by (type) (rate(fok_updates_total[$__rate_interval]))", "{{type}}"),
                description="Updates processed, by Telegram update type.",
                unit="reqps",
                stacked=True,
            )
        )
        .with_panel(
            _series(
                "Webhook answers by status",
                ("sum by (code) (rate(fok_webhook_requests_total[$__rate_interval]))", "{{code}}"),
                description="HTTP status the bot answered Telegram's webhook calls with.",
                unit="reqps",
                stacked=True,
            )
        )
        .with_panel(
            _series(
                "Handler latency p95",
                (
                    "histogram_quantile(0.95, sum by (le, handler)"
                    " (rate(fok_handler_duration_seconds_bucket[$__rate_interval])))",
                    "{{handler}}",
                ),
                description="95th percentile time in each handler (alert: above 2 s for 10 min).",
                unit="s",
            )
        )
        .with_panel(
            _series(
                "Update de-duplication",
                (
                    "sum by (result) (rate(fok_update_dedup_total[$__rate_interval]))",
                    "{{result}}",
                ),
                description="new: first delivery; in_progress: a retry while processing (5xx); "
                "done: a redelivery of an answered update (200).",
                unit="reqps",
            )
        )
        .with_panel(
            _series(
                "Dependencies as the bots see them",
                ("min by (dependency) (fok_dependency_up)", "{{dependency}}"),
                description="1 when every instance's last readiness check of it passed.",
                unit="bool_yes_no",
            )
        )
        .with_panel(
            _series(
                "Bot API calls by result",
                (
                    "sum by (result) (rate(fok_telegram_api_calls_total[$__rate_interval]))",
                    "{{result}}",
                ),
                description="Calls to the Telegram Bot API: ok, 429 (rate limited), 403 "
                "(blocked), 4xx, 5xx, network.",
                unit="reqps",
            )
        )
        .with_row(dashboard.Row("Errors"))
        .with_panel(
            _logs(
                "Errors, every service",
                '{level=~"ERROR|CRITICAL"} | json',
                description="JSON log records at ERROR and above from bots and workers (Loki).",
            )
        )
    )


def infrastructure() -> dashboard.Dashboard:
    return (
        _dashboard(
            "fok-infrastructure",
            "FOK Bot — Infrastructure",
            "Hosts (node_exporter), Redis (redis_exporter per node), MongoDB and the edge.",
        )
        .with_row(dashboard.Row("Hosts"))
        .with_panel(
            _series(
                "CPU busy",
                (
                    '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}'
                    "[$__rate_interval]))",
                    "{{instance}}",
                ),
                description="Share of CPU time not idle (alert: above 80 % for 15 min).",
                unit="percentunit",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Memory used",
                (
                    "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
                    "{{instance}}",
                ),
                description="Share of memory not available (alert: above 85 % for 10 min).",
                unit="percentunit",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Disk used",
                (
                    f"1 - node_filesystem_avail_bytes{{{NOT_DISKS}}}"
                    f" / node_filesystem_size_bytes{{{NOT_DISKS}}}",
                    "{{instance}} {{mountpoint}}",
                ),
                description="Share of each filesystem used (alert: above 90 % for 10 min).",
                unit="percentunit",
                width=8,
            )
        )
        .with_row(dashboard.Row("Redis"))
        .with_panel(
            _series(
                "Redis nodes up",
                ("redis_up", "{{instance}} ({{kind}})"),
                description="1 when the exporter reached the node; six cluster nodes and the broker.",
                unit="bool_yes_no",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Redis Cluster state and slots",
                ("min(redis_cluster_state)", "state ok"),
                ("min(redis_cluster_slots_ok) / 16384", "slots ok"),
                ("max(redis_cluster_slots_pfail + redis_cluster_slots_fail)", "slots failing"),
                description="cluster_state and slot coverage, the worst any node reports.",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Replicas per master",
                (
                    'redis_connected_slaves and on (instance) redis_instance_info{role="master"}',
                    "{{instance}} ({{kind}})",
                ),
                description="Connected replicas of each master (cluster masters have one; the "
                "broker none).",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Redis memory used",
                ("redis_memory_used_bytes", "{{instance}}"),
                description="used_memory of each node.",
                unit="bytes",
            )
        )
        .with_panel(
            _series(
                "Redis commands per second",
                (
                    "sum by (instance) (rate(redis_commands_processed_total[$__rate_interval]))",
                    "{{instance}}",
                ),
                description="Commands processed by each node.",
                unit="ops",
            )
        )
        .with_row(dashboard.Row("MongoDB and the edge"))
        .with_panel(
            _series(
                "MongoDB reachable from each bot",
                ('min by (instance) (fok_dependency_up{dependency="mongodb"})', "{{instance}}"),
                description="The bots' readiness view of MongoDB (production also has "
                "mongodb_exporter; see its alerts).",
                unit="bool_yes_no",
                width=8,
            )
        )
        .with_panel(
            _series(
                "HAProxy responses by status class",
                (
                    'sum by (code) (rate(haproxy_backend_http_responses_total{proxy="bots"}'
                    "[$__rate_interval]))",
                    "{{code}}",
                ),
                description="What the bots backend answered through the edge.",
                unit="reqps",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Scrape targets up by job",
                ("sum by (job) (up)", "{{job}} up"),
                ("count by (job) (up)", "{{job}} total"),
                description="Targets Prometheus scrapes successfully, per job.",
                width=8,
            )
        )
    )


def applications() -> dashboard.Dashboard:
    return (
        _dashboard(
            "fok-applications",
            "FOK Bot — Applications & Users",
            "What residents do: registrations, applications, bookings, what they press.",
        )
        .with_row(dashboard.Row("Residents"))
        .with_panel(
            _stat(
                "Registrations (24 h)",
                "sum(increase(fok_registrations_total[24h]))",
                description="Completed registrations over the last day.",
                width=8,
            )
        )
        .with_panel(
            _stat(
                "Applications (24 h)",
                "sum(increase(fok_applications_total[24h]))",
                description="Applications created or moved to a new status over the last day.",
                width=8,
            )
        )
        .with_panel(
            _stat(
                "Bookings (24 h)",
                "sum(increase(fok_bookings_total[24h]))",
                description="Booking attempts over the last day, every result.",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Registrations per hour",
                ("sum(increase(fok_registrations_total[1h]))", "registrations"),
                description="Completed registrations in the hour before each point.",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Applications per hour by status",
                ("sum by (status) (increase(fok_applications_total[1h]))", "{{status}}"),
                description="Applications reaching each status in the hour before each point.",
                width=8,
            )
        )
        .with_panel(
            _series(
                "Bookings per hour by result",
                ("sum by (result) (increase(fok_bookings_total[1h]))", "{{result}}"),
                description="Booking attempts by result (booked, full, duplicate, ...).",
                width=8,
            )
        )
        .with_row(dashboard.Row("Conversations"))
        .with_panel(
            _series(
                "Updates by handler",
                ("sum by (handler) (rate(fok_updates_total[$__rate_interval]))", "{{handler}}"),
                description="Which handler took each update: what residents and staff use.",
                unit="reqps",
                stacked=True,
            )
        )
        .with_panel(
            _series(
                "Bot API results per hour",
                (
                    "sum by (result) (increase(fok_telegram_api_calls_total[1h]))",
                    "{{result}}",
                ),
                description="403 counts users who blocked the bot; 429 Telegram's rate limits.",
            )
        )
        .with_panel(
            _series(
                "Dialog state errors per hour",
                ("sum(increase(fok_dialog_state_errors_total[1h]))", "errors"),
                description="Dialog (FSM) state reads or writes that failed; users may lose their "
                "place in a dialog.",
            )
        )
        .with_panel(
            _logs(
                "Handler errors",
                '{service="bot", level=~"ERROR|CRITICAL"} | json | handler != ""',
                description="Bot log records at ERROR and above raised inside a handler.",
                width=12,
            )
        )
    )


def celery() -> dashboard.Dashboard:
    return (
        _dashboard(
            "fok-celery",
            "FOK Bot — Celery",
            "Background work: the broker's queue, task runs and failures, reminders, sends.",
        )
        .with_row(dashboard.Row("Queue and workers"))
        .with_panel(
            _stat(
                "Workers up",
                'sum(up{job="fok-worker"})',
                description="Celery worker processes Prometheus scrapes.",
                steps=((None, "red"), (1, "green")),
                width=8,
            )
        )
        .with_panel(
            _stat(
                "Broker up",
                'max(redis_up{kind="broker"})',
                description="The standalone Redis that Celery uses as its broker.",
                unit="bool_yes_no",
                steps=((None, "red"), (1, "green")),
                width=8,
            )
        )
        .with_panel(
            _stat(
                "Tasks waiting",
                'sum(redis_key_size{kind="broker"})',
                description="Tasks waiting in every Celery queue (Redis lists on the broker).",
                steps=((None, "green"), (100, "orange")),
                width=8,
            )
        )
        .with_panel(
            _series(
                "Queue length",
                ('redis_key_size{kind="broker"}', "{{key}}"),
                description="Tasks waiting on the broker (alert FokCeleryQueueBacklog at 100).",
            )
        )
        .with_panel(
            _series(
                "Task runs by task and result",
                (
                    "sum by (task, result) (rate(fok_celery_tasks_total[$__rate_interval]))",
                    "{{task}} {{result}}",
                ),
                description="Task runs per second.",
                unit="ops",
            )
        )
        .with_panel(
            _series(
                "Task failure ratio (15 min)",
                (
                    'clamp_min(1 - sum by (task) (rate(fok_celery_tasks_total{result="success"}'
                    "[15m])) / sum by (task) (rate(fok_celery_tasks_total[15m])), 0)",
                    "{{task}}",
                ),
                description="Share of each task's runs that did not succeed (alert above 10 %).",
                unit="percentunit",
            )
        )
        .with_panel(
            _series(
                "Outbound limiter wait p95",
                (
                    "histogram_quantile(0.95, sum by (le, job)"
                    " (rate(fok_outbound_limiter_wait_seconds_bucket[$__rate_interval])))",
                    "{{job}}",
                ),
                description="Time a send waited for the cluster-wide Telegram limiter.",
                unit="s",
            )
        )
        .with_row(dashboard.Row("Notices, reminders and backups"))
        .with_panel(
            _stat(
                "Outbox waiting",
                "max(fok_outbox_backlog)",
                description="Notices written and not delivered yet (alert FokOutboxBacklog).",
                steps=((None, "green"), (500, "orange")),
            )
        )
        .with_panel(
            _stat(
                "Parked",
                "max(fok_outbox_parked) + max(fok_reminders_parked)",
                description="Notices and reminders given up on after failing too often: an "
                "operator looks (admin_tools outbox / reminders).",
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            _stat(
                "Reminders overdue",
                "max(fok_reminders_overdue)",
                description="Reminders due more than five minutes ago and not sent "
                "(alert FokRemindersOverdue).",
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            _stat(
                "Last backup",
                "time() - max(fok_backup_last_success_timestamp_seconds)",
                description="Age of the newest successful MongoDB backup (alert FokBackupTooOld "
                "at 26 h; the age since 1970 until the first backup).",
                unit="s",
                steps=((None, "green"), (26 * 3600, "red")),
            )
        )
        .with_panel(
            _series(
                "Delivery lag",
                ("max(fok_outbox_oldest_age_seconds)", "oldest notice waiting"),
                ("max(fok_reminder_lag_seconds)", "oldest due reminder waiting"),
                description="How long the oldest waiting notice and due reminder have waited.",
                unit="s",
            )
        )
        .with_panel(
            _series(
                "Reminder send lag p95",
                (
                    "histogram_quantile(0.95, sum by (le)"
                    " (rate(fok_reminder_delivery_lag_seconds_bucket[$__rate_interval])))",
                    "p95",
                ),
                description="From a reminder's due time to its send.",
                unit="s",
            )
        )
        .with_panel(
            _logs(
                "Worker logs",
                '{service="worker"} | json',
                description="The workers' JSON log records (Loki).",
            )
        )
    )


DASHBOARDS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "overview.json": overview,
    "infrastructure.json": infrastructure,
    "applications.json": applications,
    "celery.json": celery,
}


def render(builder: Callable[[], dashboard.Dashboard]) -> str:
    """The dashboard as Grafana's JSON model, stable across runs (sorted keys, ids in order)."""
    model = json.loads(JSONEncoder(sort_keys=True, indent=2).encode(builder().build()))
    for number, panel in enumerate(model["panels"], start=1):
        panel["id"] = number
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--out", type=Path, default=DASHBOARDS_DIR)
    args = parser.parse_args(argv)
    stale = []
    for name, builder in DASHBOARDS.items():
        path: Path = args.out / name
        text = render(builder)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)}; run {Path(__file__).name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
