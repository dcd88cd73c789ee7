"""The Grafana dashboards: the committed JSON is what the builders make, every panel points at a
provisioned data source, and every Prometheus query answers on a Prometheus that scraped the real
local cluster (`python -m devcluster up`) after a little traffic through the Telegram emulator.

One cluster serves the whole module (it takes about half a minute to start on two cores).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devcluster.ports import LOOPBACK
from devcluster.state import ClusterState
from telegram_emulator.client import EmulatorClient
from tests.e2e.journeys.conftest import Person, buttons_of, new_person

REPO_ROOT = Path(__file__).resolve().parents[2]
GRAFANA_DIR = REPO_ROOT / "monitoring" / "grafana"
BUILDER = GRAFANA_DIR / "build_dashboards.py"
DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "datasources.yml"
# $__rate_interval is at least 4 scrape intervals; the local cluster scrapes every 5 s.
LOCAL_RATE_INTERVAL = "1m"
SESSION_BUTTON = re.compile(r"^\d{1,2}:\d{2} ")

pytestmark = pytest.mark.timeout(400)


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    datasource: dict[str, str]
    expr: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel}: {self.expr}"


def _panel_queries() -> list[PanelQuery]:
    queries = []
    for path in DASHBOARD_FILES:
        model = json.loads(path.read_text(encoding="utf-8"))
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                queries.append(
                    PanelQuery(model["title"], panel["title"], target["datasource"], target["expr"])
                )
    return queries


def _prometheus_queries() -> list[PanelQuery]:
    return [q for q in _panel_queries() if q.datasource["type"] == "prometheus"]


# --- the JSON and the builders --------------------------------------------------------------------


def test_the_four_dashboards_are_committed() -> None:
    titles = {json.loads(p.read_text(encoding="utf-8"))["title"] for p in DASHBOARD_FILES}
    assert titles == {
        "FOK Bot — Overview",
        "FOK Bot — Infrastructure",
        "FOK Bot — Applications & Users",
        "FOK Bot — Celery",
    }


def test_committed_json_is_what_the_builders_make(tmp_path: Path) -> None:
    built = tmp_path / "dashboards"
    subprocess.run(
        [sys.executable, str(BUILDER), "--out", str(built)], check=True, timeout=60, cwd=REPO_ROOT
    )
    assert sorted(p.name for p in built.glob("*.json")) == [p.name for p in DASHBOARD_FILES]
    for committed in DASHBOARD_FILES:
        assert (built / committed.name).read_text(encoding="utf-8") == committed.read_text(
            encoding="utf-8"
        ), f"{committed.name} differs from the builders: run {BUILDER.relative_to(REPO_ROOT)}"
    check = subprocess.run(
        [sys.executable, str(BUILDER), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_the_check_mode_notices_a_hand_edit(tmp_path: Path) -> None:
    out = tmp_path / "dashboards"
    subprocess.run([sys.executable, str(BUILDER), "--out", str(out)], check=True, timeout=60)
    edited = out / "celery.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Workers up", "Workers"))
    check = subprocess.run(
        [sys.executable, str(BUILDER), "--check", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 1
    assert "celery.json" in check.stderr


def test_every_panel_uses_a_provisioned_data_source() -> None:
    provisioned = {
        (source["type"], source["uid"])
        for source in yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    }
    assert provisioned == {("prometheus", "prometheus"), ("loki", "loki")}
    used = {(q.datasource["type"], q.datasource["uid"]) for q in _panel_queries()}
    assert used == provisioned
    for path in DASHBOARD_FILES:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            if panel["type"] != "row":
                ref = panel["datasource"]
                assert (ref["type"], ref["uid"]) in provisioned, (path.name, panel["title"])


# --- the queries against the running local cluster --------------------------------------------

_PROMQL_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # label lists
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):
            continue  # a function or aggregation
        if match.group().lower() in _PROMQL_KEYWORDS:
            continue
        names.add(match.group())
    return names


def test_metric_names_are_found_in_an_expression() -> None:
    expr = (
        'clamp_min(1 - sum by (task) (rate(fok_celery_tasks_total{result="success"}[15m]))'
        " / sum by (task) (rate(fok_celery_tasks_total[15m])), 0) and on (instance)"
        ' redis_instance_info{role="master"} > bool 1 or vector(0)'
    )
    assert metric_names(expr) == {"fok_celery_tasks_total", "redis_instance_info"}


def _devcluster(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devcluster", "--run-dir", str(run_dir), *args],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


async def _traffic(api_base_url: str, token: str) -> None:
    """Residents register, apply for a section and book a session: the business series exist."""
    async with EmulatorClient(api_base_url, token) as client:
        anna: Person = await new_person(client, "Анна", phone="+79161230101")
        menu = await anna.register("Анна")
        card = await anna.press(
            await anna.press(await anna.press(menu, "Каталог"), "Автозаводский"), "Олимп"
        )
        sports = await anna.press(card, "Подать заявку")
        await anna.press(await anna.press(sports, "Плавание"), "Без комментария")

        boris: Person = await new_person(client, "Борис", phone="+79161230102")
        menu = await boris.register("Борис")
        card = await boris.press(
            await boris.press(await boris.press(menu, "Каталог"), "Автозаводский"), "Олимп"
        )
        day = await boris.press(card, "Расписание")
        for _ in range(7):  # the first day that still has a session ahead
            sessions = [data for label, data in buttons_of(day) if SESSION_BUTTON.match(label)]
            if sessions:
                break
            day = await boris.press(day, "➡️")
        assert sessions, "the seeded catalog has no session in the coming week"
        await boris.press(await boris.press_data(day, sessions[0]), "Записаться")
        await boris.say("/help")


@pytest.fixture(scope="module")
def prometheus_under_traffic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    run_dir = tmp_path_factory.mktemp("grafana") / "run"
    try:
        started = _devcluster(run_dir, "up")
        assert started.returncode == 0, started.stdout + started.stderr
        environment = dict(
            line.split("=", 1) for line in (run_dir / "bot.env").read_text().splitlines() if line
        )
        asyncio.run(
            _traffic(environment["TELEGRAM_API_BASE_URL"], environment["TELEGRAM_BOT_TOKEN"])
        )
        state = ClusterState.load(run_dir)
        assert state is not None
        yield f"http://{LOOPBACK}:{state.ports['prometheus']}"
    finally:
        _devcluster(run_dir, "down")


def _api(prometheus: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{prometheus}/api/v1/{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


def _problems(prometheus: str) -> list[str]:
    known = set(_api(prometheus, "label/__name__/values"))
    problems = []
    for query in _prometheus_queries():
        unknown = metric_names(query.expr) - known
        if unknown:
            problems.append(f"unknown metric {sorted(unknown)} in {query}")
            continue
        expr = query.expr.replace("$__rate_interval", LOCAL_RATE_INTERVAL)
        assert "$" not in expr, f"a Grafana variable the test cannot fill in: {query}"
        if not _api(prometheus, "query", query=expr)["result"]:
            problems.append(f"empty result for {query}")
    return problems


def test_every_prometheus_panel_query_answers_on_the_local_cluster(
    prometheus_under_traffic: str,
) -> None:
    queries = _prometheus_queries()
    assert len(queries) >= 30
    # The traffic's counters reach Prometheus on the next scrapes (every 5 s); rates need two.
    deadline = time.monotonic() + 90
    problems = _problems(prometheus_under_traffic)
    while problems and time.monotonic() < deadline:
        time.sleep(2)
        problems = _problems(prometheus_under_traffic)
    assert problems == [], "\n".join(problems)


# Alert rules on series the local cluster cannot have: MongoDB's exporter runs in production only
# (SecantusDB has none), and the workers do not export these yet.
NOT_EXPORTED_LOCALLY = {
    "mongodb_up",
    "mongodb_rs_members_state",
    "mongodb_rs_members_health",
    "fok_outbox_backlog",
    "fok_outbox_parked",
    "fok_celery_queue_length",
    "fok_reminder_lag_seconds",
    "fok_webhook_pending_updates",
    # set by the reminder task when it finds due reminders
    "fok_reminders_overdue",
}


def test_alert_rules_use_metrics_the_local_cluster_exports(prometheus_under_traffic: str) -> None:
    rules = [
        rule
        for path in sorted((REPO_ROOT / "monitoring" / "prometheus" / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
    ]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    used = {name for rule in rules for name in metric_names(rule["expr"])} - recorded
    # every target is scraped within a few intervals of the start (every 5 s)
    deadline = time.monotonic() + 60
    known = set(_api(prometheus_under_traffic, "label/__name__/values"))
    while used - known - NOT_EXPORTED_LOCALLY and time.monotonic() < deadline:
        time.sleep(2)
        known = set(_api(prometheus_under_traffic, "label/__name__/values"))
    assert used - known - NOT_EXPORTED_LOCALLY == set()
    # The workers' delivery gauges appear once their first task ran, so whether they are in
    # `known` depends on timing: the list holds what may be absent, and only the MongoDB
    # exporter's series can never be here.
    assert {name for name in NOT_EXPORTED_LOCALLY if name.startswith("mongodb_")} & known == set()


def test_an_unknown_metric_in_a_panel_would_be_caught(prometheus_under_traffic: str) -> None:
    # Guards the test above: a misspelt name is reported, not silently answered with nothing.
    known = set(_api(prometheus_under_traffic, "label/__name__/values"))
    assert "fok_updates_total" in known
    assert metric_names("sum(rate(fok_update_total[1m]))") - known == {"fok_update_total"}


def test_the_config_gate_fails_on_a_hand_edited_dashboard(tmp_path: Path) -> None:
    # scripts/check-configs.sh on a copy whose dashboard JSON no longer matches the builders
    for relative in ("haproxy", "monitoring"):
        shutil.copytree(REPO_ROOT / relative, tmp_path / relative)
    (tmp_path / "scripts").mkdir()
    for script in ("check-configs.sh", "make-selfsigned-cert.sh"):
        shutil.copy2(REPO_ROOT / "scripts" / script, tmp_path / "scripts" / script)
    edited = tmp_path / "monitoring" / "grafana" / "dashboards" / "overview.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("sum(up{", "max(up{", 1))
    gates = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "check-configs.sh")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        # tools that come with the venv are found on PATH, as a copy has no .venv of its own
        env={
            **os.environ,
            "PYTHON": sys.executable,
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        },
    )
    assert gates.returncode == 1, gates.stdout
    assert "FAIL  monitoring/grafana/dashboards/*.json are what build_dashboards.py makes" in (
        gates.stdout
    )
    # the copy is sound where it matters here: the monitoring gates pass
    assert "ok    promtool test rules monitoring/prometheus/tests/*.yml" in gates.stdout
