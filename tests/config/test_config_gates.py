"""scripts/check-configs.sh passes on the shipped configs, and each gate in it catches a break.

Every breakage is made in a temporary copy of haproxy/, monitoring/ and the two scripts, so the
copied script checks the copied files; the repository is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path("scripts") / "check-configs.sh"
COPIED = [
    Path("haproxy"),
    Path("monitoring"),
    SCRIPT,
    Path("scripts") / "make-selfsigned-cert.sh",
    # The deployment gates' inputs.
    Path("docker-compose.enterprise.yml"),
    Path(".env.prod.example"),
    Path("Dockerfile"),
    Path("docker"),
    Path("mongo"),
    Path("redis-cluster"),
    Path("scripts") / "deploy-enterprise.sh",
]
RULES = Path("monitoring/prometheus/rules/fok-bot.rules.yml")
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"


@dataclass(frozen=True)
class GateRun:
    returncode: int
    output: str

    def status_of(self, label_start: str) -> list[str]:
        """Statuses ('ok'/'FAIL') of every gate whose label starts with label_start."""
        statuses = []
        for line in self.output.splitlines():
            match = re.match(r"^(ok|FAIL)\s+(.*)$", line)
            if match and match.group(2).startswith(label_start):
                statuses.append(match.group(1))
        assert statuses, f"no gate labelled {label_start!r} in:\n{self.output}"
        return statuses


def run_gates(root: Path, only: str = "") -> GateRun:
    """Run the copy's script: every gate, or with ``only`` those whose label starts so."""
    # A copy has no .venv of its own: tools that come with the venv (hadolint) are found on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "CHECK_CONFIGS_ONLY": only}
    result = subprocess.run(
        [str(root / SCRIPT)], capture_output=True, text=True, check=False, timeout=120, env=env
    )
    return GateRun(result.returncode, result.stdout + result.stderr)


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    for relative in COPIED:
        source, target = REPO_ROOT / relative, tmp_path / relative
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return tmp_path


def _edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}: the breakage no longer applies"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_all_gates_pass_on_the_shipped_configs() -> None:
    run = run_gates(REPO_ROOT)
    assert run.returncode == 0, run.output
    assert "FAIL" not in run.output
    assert re.search(r"^(\d+)/\1 config checks passed$", run.output, re.MULTILINE), run.output


def test_the_copy_itself_passes(config_copy: Path) -> None:
    # Guards the breakage tests below: they must fail because of the break, not the copy.
    run = run_gates(config_copy)
    assert run.returncode == 0, run.output


Breakage = Callable[[Path], None]

BREAKAGES: dict[str, tuple[Breakage, str]] = {
    "haproxy syntax error": (
        lambda r: _edit(r, "haproxy/haproxy.cfg", "balance hash", "balance hashish"),
        "haproxy -c haproxy/haproxy.cfg (defaults",
    ),
    "haproxy warning": (
        # httplog on a proxy that does not log only warns; the gate runs in zero-warning mode
        lambda r: _edit(
            r,
            "haproxy/haproxy.cfg",
            "    no log\n    stats enable",
            "    option httplog\n    no log\n    stats enable",
        ),
        "haproxy -c haproxy/haproxy.cfg (defaults",
    ),
    "haproxy conditional block unbalanced": (
        lambda r: _edit(r, "haproxy/haproxy.cfg", ".endif\n\n    maxconn", "\n    maxconn"),
        "haproxy -c haproxy/haproxy.cfg (TELEGRAM_SOURCE_CHECK=on",
    ),
    "prometheus config invalid": (
        lambda r: _edit(
            r,
            "monitoring/prometheus/prometheus.yml",
            "scrape_interval: 15s",
            "scrape_interval: soon",
        ),
        "promtool check config monitoring/prometheus/prometheus.yml",
    ),
    "local prometheus template has an unknown placeholder": (
        lambda r: _edit(
            r,
            "monitoring/prometheus/prometheus.local.yml.tmpl",
            '"${HAPROXY_METRICS_ADDR}"',
            '"${HAPROXY_EXPORTER}"',
        ),
        "promtool check config monitoring/prometheus/prometheus.local.yml.tmpl",
    ),
    "rule with invalid PromQL": (
        lambda r: _edit(r, str(RULES), 'up{job="fok-bot"} == 0', 'up{job="fok-bot" == 0'),
        "promtool check rules",
    ),
    "rule threshold changed under its unit tests": (
        lambda r: _edit(
            r,
            str(RULES),
            "fok:handler_duration_seconds:p95_5m > 2\n",
            "fok:handler_duration_seconds:p95_5m > 20\n",
        ),
        "promtool test rules",
    ),
    "alertmanager config invalid": (
        lambda r: _edit(
            r,
            "monitoring/alertmanager/alertmanager.yml.tmpl",
            "group_wait: 30s",
            "group_wait: soon",
        ),
        "amtool check-config monitoring/alertmanager/alertmanager.yml.tmpl",
    ),
    "alertmanager critical route goes to the wrong receiver": (
        lambda r: _edit(
            r,
            "monitoring/alertmanager/alertmanager.yml.tmpl",
            "receiver: telegram-admins-urgent",
            "receiver: telegram-admins",
        ),
        "amtool check-config monitoring/alertmanager/alertmanager.yml.tmpl",
    ),
    "local alertmanager config has an unknown field": (
        lambda r: _edit(
            r,
            "monitoring/alertmanager/alertmanager.local.yml.tmpl",
            "send_resolved: false",
            "send_resolved: false\n        resend: always",
        ),
        "amtool check-config monitoring/alertmanager/alertmanager.local.yml.tmpl",
    ),
    "message template does not parse": (
        lambda r: _edit(
            r, "monitoring/alertmanager/templates/telegram.tmpl", "{{- end }}", "{{- end"
        ),
        "amtool template render",
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_each_gate_fails_on_a_broken_copy(config_copy: Path, breakage: str) -> None:
    breaker, failing_gate = BREAKAGES[breakage]
    breaker(config_copy)
    # Only the gate the break is for: the whole script on the copy is test_the_copy_itself_passes
    # (each run of all of them costs seconds, most of it promtool's rule tests).
    run = run_gates(config_copy, only=failing_gate)
    assert run.returncode != 0, run.output
    assert "FAIL" in run.status_of(failing_gate), run.output


def test_only_runs_the_gates_it_names_and_refuses_a_name_no_gate_has() -> None:
    run = run_gates(REPO_ROOT, only="haproxy -c haproxy/haproxy.cfg")
    assert (run.returncode, run.status_of("haproxy -c haproxy/haproxy.cfg")) == (0, ["ok", "ok"])
    assert "2/2 config checks passed" in run.output
    assert "promtool" not in run.output
    unknown = run_gates(REPO_ROOT, only="no such gate")
    assert unknown.returncode == 2, unknown.output
    assert "config checks passed" not in unknown.output


def test_production_alertmanager_render_refuses_a_malformed_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("123:abc|rm -rf /\n")
    result = subprocess.run(
        [
            str(REPO_ROOT / "monitoring/alertmanager/render-config.sh"),
            str(REPO_ROOT / "monitoring/alertmanager/alertmanager.yml.tmpl"),
            str(tmp_path / "alertmanager.yml"),
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "TELEGRAM_BOT_TOKEN_FILE": str(token_file),
            "TELEGRAM_CHAT_ID": "-100123",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert not (tmp_path / "alertmanager.yml").exists()
    assert "abc|rm" not in result.stdout + result.stderr, "the token must not be echoed"


def test_production_alertmanager_render_keeps_the_token_out_of_its_output(tmp_path: Path) -> None:
    token = "987654321:AAH-secret_value"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    output = tmp_path / "alertmanager.yml"
    result = subprocess.run(
        [
            str(REPO_ROOT / "monitoring/alertmanager/render-config.sh"),
            str(REPO_ROOT / "monitoring/alertmanager/alertmanager.yml.tmpl"),
            str(output),
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "TELEGRAM_BOT_TOKEN_FILE": str(token_file),
            "TELEGRAM_CHAT_ID": "-100123",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert token not in result.stdout + result.stderr
    rendered = output.read_text()
    assert rendered.count(f'bot_token: "{token}"') == 3
    assert "chat_id: -100123" in rendered
    assert "${" not in rendered
    assert output.stat().st_mode & 0o077 == 0, "rendered config must be private to its owner"


def _alert_runbook_anchors() -> dict[str, str]:
    anchors: dict[str, str] = {}
    current_alert = None
    for line in (REPO_ROOT / RULES).read_text(encoding="utf-8").splitlines():
        if match := re.match(r"\s*- alert: (\S+)", line):
            current_alert = match.group(1)
        elif (
            match := re.match(r'\s*runbook_url: "docs/operations.md#(\S+)"', line)
        ) and current_alert:
            anchors[current_alert] = match.group(1)
    return anchors


def test_every_alert_links_to_its_runbook_section() -> None:
    anchors = _alert_runbook_anchors()
    alerts = set(re.findall(r"- alert: (\S+)", (REPO_ROOT / RULES).read_text(encoding="utf-8")))
    assert set(anchors) == alerts, "every alert needs a runbook_url into docs/operations.md"
    headings = {
        re.sub(r"[^a-z0-9_ -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    missing = {alert: anchor for alert, anchor in anchors.items() if anchor not in headings}
    assert not missing, f"runbook anchors without a heading in docs/operations.md: {missing}"


def test_every_alert_has_a_unit_test() -> None:
    tested = set(
        re.findall(
            r"alertname: (\S+)",
            "\n".join(
                p.read_text(encoding="utf-8")
                for p in (REPO_ROOT / "monitoring/prometheus/tests").glob("*.yml")
            ),
        )
    )
    alerts = set(re.findall(r"- alert: (\S+)", (REPO_ROOT / RULES).read_text(encoding="utf-8")))
    assert alerts <= tested, f"alerts without promtool tests: {alerts - tested}"
