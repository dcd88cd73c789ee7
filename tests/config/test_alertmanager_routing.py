"""The local Alertmanager config, loaded by a real Alertmanager: severities reach their receivers
and the inhibition rules silence exactly what they should.

`amtool config routes test` covers routing statically; inhibition can only be seen in a running
Alertmanager, so this starts one on free ports with a webhook receiver of our own.
"""

from __future__ import annotations

import json
import shutil
import string
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from devcluster.ports import LOOPBACK, free_port
from devcluster.process import ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
AM_DIR = REPO_ROOT / "monitoring" / "alertmanager"


@dataclass
class WebhookSink:
    server: ThreadingHTTPServer
    payloads: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.server_port}/alerts"

    def delivered(self) -> list[tuple[str, str, str]]:
        """(receiver, alertname, instance) of every firing alert delivered so far."""
        with self.lock:
            return [
                (p["receiver"], a["labels"]["alertname"], a["labels"].get("instance", ""))
                for p in self.payloads
                for a in p["alerts"]
                if a["status"] == "firing"
            ]


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    holder: list[WebhookSink] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with holder[0].lock:
                holder[0].payloads.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    holder.append(WebhookSink(server))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield holder[0]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def alertmanager_url(sink: WebhookSink, tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.fail("Alertmanager is not installed (apt-get install prometheus-alertmanager)")
    template = (AM_DIR / "alertmanager.local.yml.tmpl").read_text(encoding="utf-8")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        string.Template(template).substitute(
            WEBHOOK_URL=sink.url, TEMPLATES_DIR=str(AM_DIR / "templates")
        ),
        encoding="utf-8",
    )
    port = free_port()
    process = ManagedProcess(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",  # no gossip port: a single node, no fixed 9094
        ],
        log_dir=tmp_path,
        stop_grace_seconds=5,
    )
    url = f"http://{LOOPBACK}:{port}"
    with process:
        process.wait_ready(
            port=port, check=lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
        )
        yield url


def _alert(name: str, severity: str, instance: str | None = None) -> dict[str, Any]:
    labels = {"alertname": name, "severity": severity}
    if instance is not None:
        labels["instance"] = instance
    now = datetime.now(UTC)
    return {
        "labels": labels,
        "annotations": {"summary": name, "description": name, "runbook_url": "docs"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=10)).isoformat(),
    }


def _states(url: str) -> dict[tuple[str, str, str], str]:
    alerts = httpx.get(f"{url}/api/v2/alerts", timeout=5).json()
    return {
        (
            a["labels"]["alertname"],
            a["labels"]["severity"],
            a["labels"].get("instance", ""),
        ): ("inhibited" if a["status"]["inhibitedBy"] else a["status"]["state"])
        for a in alerts
    }


def test_inhibition_and_routing(alertmanager_url: str, sink: WebhookSink) -> None:
    alerts = [
        _alert("FokDependencyDown", "critical", "bot1:8000"),
        _alert("FokHandlerLatencyHigh", "warning", "bot1:8000"),  # same instance: silenced
        _alert("FokHandlerLatencyHigh", "warning", "bot2:8000"),  # other instance: kept
        _alert("FokWebhookErrorRatioHigh", "critical"),
        _alert("FokWebhookErrorRatioHigh", "warning"),  # its own critical tier: silenced
        _alert("FokTelegramRateLimited", "warning"),  # an instance-less critical must not mute it
        _alert("FokTelegramBlockedSpike", "info"),
    ]
    response = httpx.post(f"{alertmanager_url}/api/v2/alerts", json=alerts, timeout=5)
    assert response.status_code == 200, response.text

    assert _states(alertmanager_url) == {
        ("FokDependencyDown", "critical", "bot1:8000"): "active",
        ("FokHandlerLatencyHigh", "warning", "bot1:8000"): "inhibited",
        ("FokHandlerLatencyHigh", "warning", "bot2:8000"): "active",
        ("FokWebhookErrorRatioHigh", "critical", ""): "active",
        ("FokWebhookErrorRatioHigh", "warning", ""): "inhibited",
        ("FokTelegramRateLimited", "warning", ""): "active",
        ("FokTelegramBlockedSpike", "info", ""): "active",
    }

    expected = {
        ("admins-urgent", "FokDependencyDown", "bot1:8000"),
        ("admins-urgent", "FokWebhookErrorRatioHigh", ""),
        ("admins", "FokHandlerLatencyHigh", "bot2:8000"),
        ("admins", "FokTelegramRateLimited", ""),
        ("admins-silent", "FokTelegramBlockedSpike", ""),
    }
    deadline = time.monotonic() + 20  # warning/info groups wait 5 s before the first send
    while time.monotonic() < deadline and not expected <= set(sink.delivered()):
        time.sleep(0.1)
    assert set(sink.delivered()) == expected


def test_haproxy_backend_down_silences_per_instance_alerts(alertmanager_url: str) -> None:
    alerts = [
        _alert("HAProxyBotBackendDown", "critical", "haproxy:8405"),
        _alert("HAProxyBotBackendDegraded", "warning", "haproxy:8405"),
        _alert("FokBotInstanceDown", "critical", "bot1:8000"),
        _alert("FokBotInstanceDown", "critical", "bot2:8000"),
    ]
    assert (
        httpx.post(f"{alertmanager_url}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    )
    assert _states(alertmanager_url) == {
        ("HAProxyBotBackendDown", "critical", "haproxy:8405"): "active",
        ("HAProxyBotBackendDegraded", "warning", "haproxy:8405"): "inhibited",
        ("FokBotInstanceDown", "critical", "bot1:8000"): "inhibited",
        ("FokBotInstanceDown", "critical", "bot2:8000"): "inhibited",
    }


def _inhibit_rules_block(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    block = text[text.index("inhibit_rules:") : text.index("receivers:")]
    return [
        line.strip()
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_production_inhibits_exactly_like_the_local_config_tested_above() -> None:
    production = _inhibit_rules_block(AM_DIR / "alertmanager.yml.tmpl")
    local = _inhibit_rules_block(AM_DIR / "alertmanager.local.yml.tmpl")
    assert production == local
