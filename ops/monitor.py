"""`scripts/monitor-enterprise.sh`: the SRE's view of the FOK Bot cluster, and its few actions.

    monitor-enterprise.sh [--local | --compose] [--json] [--dry-run] COMMAND [ARGS]

    overview         processes, HAProxy's bot backend, each instance's /health/detailed, alerts
    infra            MongoDB replica set, Redis Cluster nodes, the Celery broker, scrape targets
    metrics          updates/s, p95 handler latency, 5xx ratio, 429s, outbox, reminders, queues
    logs [SVC] [N]   the last N lines (default 50) of a service's logs, or of every one
    alerts           Alertmanager's alerts (v2 API) and the rules waiting out their `for:`
    full             all of the above but logs
    urls             where the stats page, Prometheus, Alertmanager and Grafana are
    restart SVC      restart a service (compose; `bot2` is one replica)
    scale SVC N      bot replicas behind HAProxy, or Celery workers (celery-worker, worker-*)
    backup           admin_tools.py backup (the cli role in compose, the local database locally)

The local cluster (`python -m devcluster up`) is used with --local, or when its run directory
(var/devcluster, DEVCLUSTER_RUN_DIR or --run-dir) has running processes; otherwise the compose
deployment of docker-compose.enterprise.yml (-p fok --env-file .env.prod). Tables are coloured on
a terminal only; --json prints one JSON object instead. Exit status: 0 healthy (or done), 1
something is unhealthy (or the action failed), 2 bad usage, refused, or nothing to look at.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ops.deployments import (
    BOT_BACKEND,
    DEFAULT_ENV_FILE,
    DEFAULT_PROJECT,
    DEFAULT_RUN_DIR,
    ActionRefused,
    ComposeDeployment,
    Deployment,
    LocalCluster,
    Plan,
    UsageError,
    devcluster_status,
    find_local,
    shell_line,
)
from ops.sources import (
    Prometheus,
    SourceError,
    backend_of,
    is_number,
    parse_haproxy_csv,
    read_alertmanager_alerts,
)

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_USAGE = 2
DEFAULT_LOG_LINES = 50
READ_COMMANDS = ("overview", "infra", "metrics", "logs", "alerts", "full", "urls")
ACTIONS = ("restart", "scale", "backup")
# Alerts that make the cluster unhealthy when active (info is for reading, not for paging).
PAGING_SEVERITIES = {"critical", "warning"}


# --- the report ------------------------------------------------------------------------------


@dataclass
class Section:
    """One table of the report, its data for --json, and the problems it found."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    data: Any = None
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    note: str | None = None

    def failed(self, error: Exception) -> Section:
        self.error = str(error)
        self.problems.append(f"{self.title}: {error}")
        return self


_GOOD = {"ok", "up", "running", "healthy", "primary", "secondary", "master", "slave", "firing 0"}
_BAD = {"down", "stopped", "unreachable", "fail", "critical", "high", "degraded", "no container"}


def _style(cell: str) -> str:
    word = cell.split(" ", 1)[0].lower().rstrip(",")
    if cell.lower() in _GOOD or word in _GOOD:
        return "green"
    if word in _BAD or cell.lower() in _BAD or word.startswith(("down", "maint", "exited")):
        return "bold red"
    if word in {"warning", "pending", "suppressed", "drain", "nolb", "starting", "never", "info"}:
        return "yellow"
    return ""


def render(sections: list[Section], console: Console, header: str) -> None:
    console.print(Text(header, style="bold"))
    for section in sections:
        table = Table(title=section.title, title_justify="left", title_style="bold", expand=False)
        for column in section.columns:
            table.add_column(column, overflow="fold")
        for row in section.rows:
            table.add_row(*(Text(cell, style=_style(cell)) for cell in row))
        if section.error is not None:
            console.print(Text(f"{section.title}: cannot read: {section.error}", style="bold red"))
        elif section.rows:
            console.print(table)
        else:
            console.print(Text(f"{section.title}: nothing to show", style="dim"))
        if section.note:
            console.print(Text(section.note, style="dim"))
    problems = [p for s in sections for p in s.problems]
    if problems:
        console.print(Text(f"\nUNHEALTHY: {len(problems)} problem(s)", style="bold red"))
        for problem in problems:
            console.print(Text(f"  - {problem}", style="red"))
    else:
        console.print(Text("\nhealthy: no problem found", style="bold green"))


def report_json(mode: str, command: str, sections: list[Section]) -> dict[str, Any]:
    problems = [p for s in sections for p in s.problems]
    return {
        "mode": mode,
        "command": command,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "healthy": not problems,
        "problems": problems,
        "sections": {
            s.key: {"title": s.title, "data": s.data, "problems": s.problems, "error": s.error}
            for s in sections
        },
    }


# --- sections ----------------------------------------------------------------------------------


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def section_processes(deployment: Deployment) -> Section:
    title = "Processes" if deployment.mode == "local" else "Services"
    section = Section("processes", title, ["group", "name", "state", "detail"])
    try:
        processes = deployment.processes()
    except SourceError as error:
        return section.failed(error)
    section.data = [asdict(p) for p in processes]
    for process in processes:
        section.rows.append([process.group, process.name, process.state, process.detail])
        if not process.ok:
            section.problems.append(f"{process.group}/{process.name} is {process.state}")
    return section


def section_haproxy(deployment: Deployment) -> Section:
    section = Section(
        "haproxy",
        f"HAProxy backend {BOT_BACKEND}",
        ["server", "address", "status", "check", "sessions", "total", "5xx", "since"],
    )
    try:
        backend = backend_of(parse_haproxy_csv(deployment.haproxy_csv()), BOT_BACKEND)
    except SourceError as error:
        return section.failed(error)
    section.data = asdict(backend)
    # The CSV names no address without `stats show-legends`; the local cluster knows them.
    addresses = {name: address for address, name in deployment.instance_names().items()}
    for server in backend.servers:
        section.rows.append(
            [
                server.name,
                server.address or addresses.get(server.name, ""),
                server.status,
                server.check,
                str(server.sessions),
                str(server.total_sessions),
                str(server.responses_5xx),
                _ago(server.last_change_seconds),
            ]
        )
        if not server.in_rotation:
            section.problems.append(f"HAProxy: {server.name} is {server.status}, out of rotation")
    in_rotation = sum(1 for s in backend.servers if s.in_rotation)
    section.note = f"backend {backend.status}: {in_rotation} of {len(backend.servers)} in rotation"
    if not backend.status.startswith("UP"):
        section.problems.append(f"HAProxy: backend {BOT_BACKEND} is {backend.status}")
    return section


def section_instances(deployment: Deployment) -> Section:
    section = Section(
        "instances",
        "Bot instances (/health/detailed)",
        ["instance", "address", "status", "version", "uptime", "in flight", "dependencies"],
    )
    try:
        instances = deployment.instances()
    except SourceError as error:
        return section.failed(error)
    section.data = [
        {
            "name": i.name,
            "address": i.address,
            "status": i.status,
            "detail": i.detail,
            "error": i.error,
        }
        for i in instances
    ]
    for instance in instances:
        detail = instance.detail or {}
        dependencies = ", ".join(
            f"{d.get('name')} {'ok' if d.get('ok') else 'FAIL'}"
            + (f" {d['latency_ms']:.0f}ms" if isinstance(d.get("latency_ms"), int | float) else "")
            for d in detail.get("dependencies", [])
        )
        section.rows.append(
            [
                str(detail.get("instance", instance.name)),
                instance.address,
                instance.status,
                str(detail.get("version", "")),
                _ago(detail.get("uptime_seconds")),
                str(detail.get("inflight_updates", "")),
                dependencies or (instance.error or ""),
            ]
        )
        if not instance.healthy:
            why = (
                instance.error
                or "; ".join(instance.failing_dependencies())
                or ("draining" if detail.get("draining") else instance.status)
            )
            section.problems.append(f"bot instance {instance.name} is {instance.status}: {why}")
    if not instances:
        section.problems.append("no bot instance is running")
    return section


def _alert_instance(labels: dict[str, str], names: dict[str, str]) -> str:
    instance = labels.get("instance", "")
    return f"{names[instance]} ({instance})" if instance in names else instance


def section_alerts(deployment: Deployment, *, only_active: bool) -> Section:
    section = Section(
        "alerts",
        "Alerts (Alertmanager)",
        ["alert", "severity", "state", "instance", "since", "summary"],
    )
    try:
        alerts = read_alertmanager_alerts(deployment.alertmanager_url)
    except SourceError as error:
        return section.failed(error)
    names = deployment.instance_names()
    now = datetime.now(UTC)
    shown = []
    for alert in sorted(
        alerts,
        key=lambda a: (a.get("labels", {}).get("severity") != "critical", a.get("startsAt", "")),
    ):
        labels = alert.get("labels", {})
        state = alert.get("status", {}).get("state", "?")
        if only_active and state != "active":
            continue
        shown.append(alert)
        try:
            since = now - datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))
            ago = _ago(since.total_seconds())
        except (KeyError, ValueError):
            ago = ""
        severity = labels.get("severity", "")
        section.rows.append(
            [
                labels.get("alertname", "?"),
                severity,
                state if state == "active" else f"suppressed ({_suppression(alert)})",
                _alert_instance(labels, names),
                ago,
                alert.get("annotations", {}).get("summary", ""),
            ]
        )
        if state == "active" and severity in PAGING_SEVERITIES:
            where = _alert_instance(labels, names)
            section.problems.append(
                f"alert {labels.get('alertname')} ({severity})"
                + (f" on {where}" if where else "")
                + f": {alert.get('annotations', {}).get('summary', '')}"
            )
    section.data = shown
    if not shown:
        section.note = "no active alert" if only_active else "Alertmanager holds no alert"
    return section


def _suppression(alert: dict[str, Any]) -> str:
    status = alert.get("status", {})
    if status.get("silencedBy"):
        return "silenced"
    if status.get("inhibitedBy"):
        return "inhibited"
    return "suppressed"


def section_pending(deployment: Deployment) -> Section:
    section = Section(
        "pending",
        "Alert rules pending (Prometheus, waiting out `for:`)",
        ["alert", "severity", "instance", "active since", "value"],
    )
    try:
        alerts = Prometheus(deployment.prometheus_url).rule_alerts()
    except SourceError as error:
        return section.failed(error)
    names = deployment.instance_names()
    pending = [a for a in alerts if a.get("state") == "pending"]
    section.data = pending
    for alert in pending:
        labels = alert.get("labels", {})
        section.rows.append(
            [
                labels.get("alertname", "?"),
                labels.get("severity", ""),
                _alert_instance(labels, names),
                str(alert.get("activeAt", ""))[:19].replace("T", " "),
                _number(alert.get("value")),
            ]
        )
    return section


def _number(value: Any) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value or "")


def section_replica_set(deployment: Deployment) -> Section:
    section = Section("mongodb", "MongoDB", ["member", "state", "health", "lag", "this node"])
    try:
        replica_set = deployment.replica_set()
    except SourceError as error:
        return section.failed(error)
    section.data = asdict(replica_set) | {"standalone": replica_set.standalone}
    if replica_set.standalone:
        section.title = "MongoDB (standalone)"
        section.rows.append(["-", "standalone", "ok", "", ""])
        section.note = f"not a replica set: {replica_set.note}"
        return section
    section.title = f"MongoDB replica set {replica_set.set_name}"
    for member in replica_set.members:
        lag = "" if member.lag_seconds is None else f"{member.lag_seconds:.0f}s"
        section.rows.append(
            [
                member.name,
                member.state,
                "ok" if member.healthy else "DOWN",
                lag,
                "yes" if member.is_self else "",
            ]
        )
        if not member.healthy:
            section.problems.append(f"MongoDB member {member.name} is unhealthy ({member.state})")
        elif member.lag_seconds is not None and member.lag_seconds > 10:
            section.problems.append(f"MongoDB member {member.name} lags {member.lag_seconds:.0f}s")
    if replica_set.primary is None:
        section.problems.append(f"MongoDB replica set {replica_set.set_name} has no primary")
    return section


def section_redis(deployment: Deployment) -> Section:
    section = Section(
        "redis_cluster",
        "Redis Cluster",
        ["node", "role", "cluster", "slots ok", "pfail/fail", "known nodes", "replicas", "memory"],
    )
    try:
        nodes = deployment.redis_cluster()
    except SourceError as error:
        return section.failed(error)
    section.data = [asdict(n) for n in nodes]
    masters = 0
    for node in nodes:
        if node.error is not None:
            section.rows.append([node.address, "unreachable", "", "", "", "", "", node.error])
            section.problems.append(f"Redis node {node.address} is unreachable: {node.error}")
            continue
        cluster = node.cluster
        masters += node.role == "master"
        section.rows.append(
            [
                node.address,
                node.role,
                node.cluster_state,
                cluster.get("cluster_slots_ok", ""),
                f"{cluster.get('cluster_slots_pfail', '?')}/{cluster.get('cluster_slots_fail', '?')}",
                cluster.get("cluster_known_nodes", ""),
                node.info.get("connected_slaves", ""),
                node.info.get("used_memory_human", ""),
            ]
        )
        if node.cluster_state != "ok":
            section.problems.append(
                f"Redis node {node.address}: cluster_state {node.cluster_state}"
            )
        if node.role == "master" and node.info.get("connected_slaves") == "0":
            section.problems.append(f"Redis master {node.address} has no replica")
    section.note = f"{masters} masters, {len(nodes) - masters} replicas"
    return section


def section_broker(deployment: Deployment) -> Section:
    section = Section(
        "broker", "Celery broker (Redis)", ["node", "role", "version", "memory", "eviction", "aof"]
    )
    try:
        node = deployment.broker()
    except SourceError as error:
        return section.failed(error)
    section.data = asdict(node)
    if node.error is not None:
        section.rows.append([node.address, "unreachable", "", "", "", node.error])
        section.problems.append(f"broker {node.address} is unreachable: {node.error}")
        return section
    policy = node.info.get("maxmemory_policy", "")
    section.rows.append(
        [
            node.address,
            node.role,
            node.info.get("redis_version", ""),
            node.info.get("used_memory_human", ""),
            policy,
            "on" if node.info.get("aof_enabled") == "1" else "off",
        ]
    )
    if policy and policy != "noeviction":
        section.problems.append(f"broker evicts keys ({policy}): queued tasks can be lost")
    return section


def section_targets(deployment: Deployment) -> Section:
    section = Section(
        "targets",
        "Prometheus scrape targets",
        ["job", "instance", "health", "last scrape", "error"],
    )
    try:
        targets = Prometheus(deployment.prometheus_url).targets()
    except SourceError as error:
        return section.failed(error)
    names = deployment.instance_names()
    section.data = [
        {
            "job": t.get("labels", {}).get("job"),
            "instance": t.get("labels", {}).get("instance"),
            "health": t.get("health"),
            "last_error": t.get("lastError"),
        }
        for t in targets
    ]
    for target in sorted(
        targets, key=lambda t: (t["labels"].get("job", ""), t["labels"].get("instance", ""))
    ):
        labels = target.get("labels", {})
        health = str(target.get("health", "?"))
        section.rows.append(
            [
                labels.get("job", ""),
                _alert_instance(labels, names),
                health,
                str(target.get("lastScrape", ""))[11:19],
                str(target.get("lastError", "")),
            ]
        )
        if health == "down":
            section.problems.append(
                f"scrape target {labels.get('job')} {_alert_instance(labels, names)} is down: "
                f"{target.get('lastError', '')}"
            )
    return section


@dataclass(frozen=True)
class Indicator:
    """A figure from Prometheus, on the metric names of monitoring/prometheus/rules/*.yml, and
    the threshold of the alert that watches it (above it the figure is HIGH)."""

    label: str
    expr: str
    unit: str
    limit: float | None = None
    alert: str | None = None
    by: str | None = None


INDICATORS = (
    Indicator("updates/s", "sum(fok:updates:rate5m)", "/s"),
    Indicator("webhook calls/s", "fok:webhook_requests:rate5m", "/s"),
    Indicator(
        "webhook 5xx ratio",
        "fok:webhook_requests_5xx:ratio_rate5m and fok:webhook_requests:rate5m > 0.05",
        "ratio",
        0.05,
        "FokWebhookErrorRatioHigh",
    ),
    Indicator(
        "p95 handler latency",
        "topk(3, fok:handler_duration_seconds:p95_5m >= 0)",
        "s",
        2.0,
        "FokHandlerLatencyHigh",
        by="handler",
    ),
    Indicator(
        "Telegram 429/s",
        'sum(fok:telegram_api_calls:rate5m{result="429"})',
        "/s",
        0.05,
        "FokTelegramRateLimited",
    ),
    Indicator(
        "Telegram 5xx+network/s",
        'sum(fok:telegram_api_calls:rate5m{result=~"5xx|network"})',
        "/s",
        0.1,
        "FokTelegramApiErrors",
    ),
    Indicator(
        "p95 outbound limiter wait",
        "fok:outbound_limiter_wait_seconds:p95_5m >= 0",
        "s",
        5.0,
        "FokOutboundLimiterBacklog",
    ),
    Indicator("outbox pending", "max(fok_outbox_backlog)", "count", 500, "FokOutboxBacklog"),
    Indicator("outbox parked", "max(fok_outbox_parked)", "count", 0, "FokOutboxParked"),
    Indicator("reminder lag", "max(fok_reminder_lag_seconds)", "s", 300, "FokReminderLagHigh"),
    Indicator("reminders overdue", "max(fok_reminders_overdue)", "count", 0, "FokRemindersOverdue"),
    Indicator(
        "Celery queue",
        "max by (queue) (fok_celery_queue_length)",
        "count",
        100,
        "FokCeleryQueueBacklog",
        by="queue",
    ),
    Indicator(
        "task failure ratio",
        "topk(3, fok:celery_task_failures:ratio_rate15m > 0)",
        "ratio",
        0.1,
        "FokCeleryTaskFailures",
        by="task",
    ),
    Indicator("bots in rotation", 'haproxy_backend_active_servers{proxy="bots"}', "count"),
    Indicator(
        "last backup",
        "max(fok_backup_last_success_timestamp_seconds)",
        "timestamp",
        26 * 3600,
        "FokBackupTooOld",
    ),
)

HOST_INDICATORS = (
    Indicator(
        "CPU busy",
        '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
        "ratio",
        0.8,
        "FokHostCpuHigh",
        by="instance",
    ),
    Indicator(
        "memory used",
        "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        "ratio",
        0.85,
        "FokHostMemoryHigh",
        by="instance",
    ),
    Indicator(
        "fullest filesystem",
        "max by (instance) (1 - node_filesystem_avail_bytes"
        '{fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.*"}'
        " / node_filesystem_size_bytes)",
        "ratio",
        0.9,
        "FokHostDiskAlmostFull",
        by="instance",
    ),
)

_SERVICE_LABEL = "container_label_com_docker_compose_service"


def _format(value: float, unit: str, now: float) -> str:
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "/s":
        return f"{value:.3g}/s"
    if unit == "s":
        return f"{value:.2f}s" if value < 120 else _ago(value)
    if unit == "timestamp":
        return "never" if value <= 0 else f"{_ago(now - value)} ago"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _judge(indicator: Indicator, value: float, now: float) -> str:
    if indicator.limit is None:
        return ""
    if indicator.unit == "timestamp":
        # 0 = no backup yet: FokBackupNeverSucceeded judges that (after 26 h of "none").
        if value <= 0:
            return "never"
        return "HIGH" if now - value > indicator.limit else "ok"
    return "HIGH" if value > indicator.limit else "ok"


def _indicator_rows(
    prometheus: Prometheus, indicators: Sequence[Indicator], section: Section, *, judge: bool
) -> None:
    now = datetime.now(UTC).timestamp()
    data: list[dict[str, Any]] = []
    for indicator in indicators:
        try:
            samples = prometheus.query(indicator.expr)
        except SourceError as error:
            section.failed(error)
            return
        samples = [s for s in samples if is_number(s.value)]
        if not samples:
            section.rows.append([indicator.label, "no data", "", indicator.alert or ""])
            data.append({"label": indicator.label, "expr": indicator.expr, "value": None})
            continue
        for sample in samples:
            label = indicator.label
            if indicator.by:
                label += f" [{sample.labels.get(indicator.by, '?')}]"
            verdict = _judge(indicator, sample.value, now)
            limit = ""
            if indicator.limit is not None:
                limit = f"> {_format(indicator.limit, indicator.unit if indicator.unit != 'timestamp' else 's', now)}"
            section.rows.append(
                [
                    label,
                    _format(sample.value, indicator.unit, now),
                    verdict,
                    f"{indicator.alert or ''} {limit}".strip(),
                ]
            )
            data.append(
                {
                    "label": label,
                    "expr": indicator.expr,
                    "value": sample.value,
                    "labels": sample.labels,
                    "limit": indicator.limit,
                    "alert": indicator.alert,
                    "verdict": verdict or None,
                }
            )
            if verdict == "HIGH" and judge:
                section.problems.append(
                    f"{label} is {_format(sample.value, indicator.unit, now)}, above the "
                    f"{indicator.alert} threshold"
                )
    section.data = data


def section_metrics(deployment: Deployment) -> Section:
    section = Section(
        "metrics", "Cluster metrics (Prometheus)", ["figure", "value", "", "alert above"]
    )
    _indicator_rows(Prometheus(deployment.prometheus_url), INDICATORS, section, judge=True)
    section.note = "rates over 5 minutes; 'no data' = no series yet (no traffic, or not exported)"
    return section


def section_resources(deployment: Deployment) -> Section:
    section = Section(
        "resources", "Host resources (node exporter)", ["figure", "value", "", "alert above"]
    )
    _indicator_rows(Prometheus(deployment.prometheus_url), HOST_INDICATORS, section, judge=False)
    # A busy host is not yet a sick cluster: FokHost* alerts judge it over 10-15 minutes, and
    # the figures above say whether users feel it.
    section.note = "informational: the FokHost* alerts decide, after their `for:`"
    return section


def section_containers(deployment: Deployment) -> Section:
    section = Section(
        "containers", "Containers per service (cAdvisor)", ["service", "CPU (cores)", "memory"]
    )
    prometheus = Prometheus(deployment.prometheus_url)
    try:
        cpu = prometheus.query(
            f'sum by ({_SERVICE_LABEL}) (rate(container_cpu_usage_seconds_total{{{_SERVICE_LABEL}!=""}}[5m]))'
        )
        memory = prometheus.query(
            f'sum by ({_SERVICE_LABEL}) (container_memory_working_set_bytes{{{_SERVICE_LABEL}!=""}})'
        )
    except SourceError as error:
        return section.failed(error)
    by_service: dict[str, dict[str, float]] = {}
    for sample in cpu:
        by_service.setdefault(sample.labels.get(_SERVICE_LABEL, "?"), {})["cpu"] = sample.value
    for sample in memory:
        by_service.setdefault(sample.labels.get(_SERVICE_LABEL, "?"), {})["memory"] = sample.value
    section.data = by_service
    for service, values in sorted(by_service.items()):
        section.rows.append(
            [
                service,
                f"{values['cpu']:.2f}" if "cpu" in values else "",
                f"{values['memory'] / 2**20:.0f} MiB" if "memory" in values else "",
            ]
        )
    return section


def build(command: str, deployment: Deployment) -> list[Section]:
    overview: list[Callable[[], Section]] = [
        lambda: section_processes(deployment),
        lambda: section_haproxy(deployment),
        lambda: section_instances(deployment),
    ]
    infra: list[Callable[[], Section]] = [
        lambda: section_replica_set(deployment),
        lambda: section_redis(deployment),
        lambda: section_broker(deployment),
        lambda: section_targets(deployment),
    ]
    metrics: list[Callable[[], Section]] = [
        lambda: section_metrics(deployment),
        lambda: section_resources(deployment),
    ]
    if deployment.mode == "compose":
        metrics.append(lambda: section_containers(deployment))
    alerts: list[Callable[[], Section]] = [
        lambda: section_alerts(deployment, only_active=False),
        lambda: section_pending(deployment),
    ]
    plans: dict[str, list[Callable[[], Section]]] = {
        "overview": [*overview, lambda: section_alerts(deployment, only_active=True)],
        "infra": infra,
        "metrics": metrics,
        "alerts": alerts,
        "full": [*overview, *infra, *metrics, *alerts],
    }
    return [make() for make in plans[command]]


# --- logs, urls, actions ---------------------------------------------------------------------


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of a file, read from its end."""
    if lines <= 0:
        return []
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            end = file.tell()
            block = 8192
            data = b""
            while end > 0 and data.count(b"\n") <= lines:
                start = max(0, end - block)
                file.seek(start)
                data = file.read(end - start) + data
                end = start
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", errors="replace")
    return text.splitlines()[-lines:]


def run_logs(deployment: Deployment, args: list[str], as_json: bool, out: TextIO) -> int:
    service: str | None = None
    lines = DEFAULT_LOG_LINES
    rest = list(args)
    if rest and not rest[0].isdigit():
        service = rest.pop(0)
    if rest:
        if not rest[0].isdigit() or len(rest) > 1:
            raise UsageError("usage: logs [SERVICE] [LINES]")
        lines = int(rest[0])
    command = deployment.log_command(service, lines)
    if command is not None:
        if not as_json:
            print(f"+ {shell_line(command)}", file=sys.stderr)
            return subprocess.run(command, check=False).returncode
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        json.dump(
            {
                "mode": deployment.mode,
                "command": "logs",
                "service": service,
                "lines": result.stdout.splitlines(),
                "exit": result.returncode,
            },
            out,
            ensure_ascii=False,
        )
        print(file=out)
        return EXIT_OK if result.returncode == 0 else EXIT_UNHEALTHY
    files = deployment.log_files(service)
    chunks = [{"name": name, "log": str(path), "lines": tail(path, lines)} for name, path in files]
    if as_json:
        json.dump(
            {"mode": deployment.mode, "command": "logs", "service": service, "logs": chunks},
            out,
            ensure_ascii=False,
        )
        print(file=out)
        return EXIT_OK
    for chunk in chunks:
        print(f"==> {chunk['name']} ({chunk['log']}) <==", file=out)
        for line in chunk["lines"]:
            print(line, file=out)
        print(file=out)
    return EXIT_OK


def run_urls(deployment: Deployment, as_json: bool, console: Console, out: TextIO) -> int:
    urls = deployment.urls()
    if as_json:
        json.dump(
            {"mode": deployment.mode, "command": "urls", "urls": urls}, out, ensure_ascii=False
        )
        print(file=out)
        return EXIT_OK
    table = Table(title=deployment.describe(), title_justify="left")
    table.add_column("what")
    table.add_column("where", overflow="fold")
    for what, where in urls.items():
        table.add_row(what, where)
    console.print(table)
    return EXIT_OK


def parse_count(value: str) -> int:
    if not value.isdigit():
        raise UsageError(f"scale: the count must be a number, not {value!r}")
    return int(value)


def run_action(
    command: str, deployment: Deployment, args: list[str], *, dry_run: bool, out: TextIO
) -> int:
    if command == "restart":
        if len(args) != 1:
            raise UsageError("usage: restart SERVICE")
        plan = deployment.restart_plan(args[0])
    elif command == "scale":
        if len(args) != 2:
            raise UsageError("usage: scale SERVICE COUNT")
        plan = deployment.scale_plan(args[0], parse_count(args[1]))
    else:
        if args:
            raise UsageError("usage: backup")
        plan = deployment.backup_plan()
    return execute(plan, dry_run=dry_run, out=out)


def execute(plan: Plan, *, dry_run: bool, out: TextIO) -> int:
    for note in plan.notes:
        print(f"note: {note}", file=out)
    for argv in plan.commands:
        print(f"+ {shell_line(argv)}", file=out, flush=True)
        if dry_run:
            continue
        try:
            result = subprocess.run(argv, env={**os.environ, **plan.env}, check=False)
        except FileNotFoundError:
            print(f"error: {argv[0]} is not installed", file=sys.stderr)
            return EXIT_UNHEALTHY
        if result.returncode != 0:
            print(f"error: exit {result.returncode}: {shell_line(argv)}", file=sys.stderr)
            return EXIT_UNHEALTHY
    if dry_run:
        print("dry run: nothing was changed", file=out)
        return EXIT_OK
    if plan.verify is not None:
        ok, message = plan.verify()
        print(message, file=out)
        return EXIT_OK if ok else EXIT_UNHEALTHY
    return EXIT_OK


# --- the command line --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor-enterprise.sh",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=(*READ_COMMANDS, *ACTIONS), metavar="COMMAND")
    parser.add_argument("args", nargs="*", metavar="ARGS")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the local cluster (devcluster)")
    where.add_argument("--compose", action="store_true", help="the compose deployment")
    parser.add_argument("--json", action="store_true", help="one JSON object, no tables")
    parser.add_argument(
        "--dry-run", action="store_true", help="restart, scale, backup: print the commands only"
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("DEVCLUSTER_RUN_DIR", DEFAULT_RUN_DIR)),
        help="the local cluster's run directory (default var/devcluster)",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=DEFAULT_ENV_FILE,
        help="compose: the environment (.env.prod)",
    )
    parser.add_argument(
        "--project",
        default=os.environ.get("COMPOSE_PROJECT_NAME", DEFAULT_PROJECT),
        help="compose: the project name (default fok)",
    )
    return parser


def _deployment(args: argparse.Namespace) -> Deployment:
    run_dir = args.run_dir.resolve()
    if args.local:
        status = devcluster_status(run_dir)
        if status is None:
            raise ActionRefused(
                f"no local cluster in {run_dir}: start one with `python -m devcluster up`"
            )
        return LocalCluster(status)
    if not args.compose:
        local = find_local(run_dir)
        if local is not None:
            return local
    return ComposeDeployment(env_file=args.env_file, project=args.project)


def _console(out: TextIO) -> Console:
    """Colour on a terminal only (and not even there with NO_COLOR); wide tables in a pipe."""
    terminal = out.isatty()
    width = None if terminal else max(160, int(os.environ.get("COLUMNS", "0") or 0))
    no_color = not terminal or bool(os.environ.get("NO_COLOR"))
    return Console(
        file=out, force_terminal=terminal, no_color=no_color, width=width, highlight=False
    )


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = _parser().parse_intermixed_args(argv)
    try:
        deployment = _deployment(args)
        if args.command in ACTIONS:
            if not args.dry_run:
                deployment.preflight()
            return run_action(args.command, deployment, args.args, dry_run=args.dry_run, out=out)
        if args.dry_run:
            raise UsageError("--dry-run is for restart, scale and backup")
        if args.command == "logs":
            return run_logs(deployment, args.args, args.json, out)
        if args.args:
            raise UsageError(f"{args.command} takes no arguments")
        if args.command == "urls":
            return run_urls(deployment, args.json, _console(out), out)
        sections = build(args.command, deployment)
    except (UsageError, ActionRefused) as error:
        print(f"monitor-enterprise: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SourceError as error:
        print(f"monitor-enterprise: {error}", file=sys.stderr)
        return EXIT_UNHEALTHY
    if args.json:
        json.dump(
            report_json(deployment.mode, args.command, sections),
            out,
            ensure_ascii=False,
            default=str,
        )
        print(file=out)
    else:
        header = f"{args.command}: {deployment.describe()}"
        render(sections, _console(out), header)
    healthy = not any(s.problems for s in sections)
    return EXIT_OK if healthy else EXIT_UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
