"""monitor-enterprise.sh against the compose deployment, without a Docker engine: what restart,
scale and backup would run (--dry-run, with no docker on PATH, so nothing can be called), what
they refuse, and that the monitor's idea of the compose file is the file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from ops.deployments import (
    ALL_SERVICES,
    COMPOSE_SERVICES,
    COMPOSE_WORKERS,
    LONG_RUNNING,
    MAX_BOT_REPLICAS,
)
from ops.monitor import Section, _console, main, render

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "monitor-enterprise.sh"
COMPOSE_FILE = REPO_ROOT / "docker-compose.enterprise.yml"
EXAMPLE_ENV = REPO_ROOT / ".env.prod.example"
COMPOSE = f"docker compose -p fok --env-file {EXAMPLE_ENV} -f {COMPOSE_FILE}"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def monitor(*args: str) -> Run:
    """The monitor in this process (a dry run calls nothing; the script's own test is below)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        returncode = main(["--compose", "--env-file", str(EXAMPLE_ENV), *args], out=out)
    return Run(returncode, out.getvalue(), err.getvalue())


def script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """scripts/monitor-enterprise.sh, with no docker on PATH unless `env` brings one."""
    path = os.pathsep.join(
        directory
        for directory in os.environ["PATH"].split(os.pathsep)
        if not (Path(directory) / "docker").exists()
    )
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": path, **(env or {})},
    )


def commands(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


def compose_services() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(
        COMPOSE_FILE.read_text(encoding="utf-8")
    )["services"]
    return services


def test_the_monitor_knows_every_service_of_the_compose_file() -> None:
    services = compose_services()
    assert set(ALL_SERVICES) == set(services)
    assert len(ALL_SERVICES) == len(set(ALL_SERVICES))
    # one-shot jobs and tools never restart on their own; everything else does
    for name in COMPOSE_SERVICES["jobs"] + COMPOSE_SERVICES["tools"]:
        assert services[name].get("restart") == "no", name
    for name in LONG_RUNNING:
        assert services[name].get("restart", "unless-stopped") == "unless-stopped", name
    # the workers are the services with a WORKER_NAME, each on the alias Prometheus scrapes
    workers = [n for n, s in services.items() if "WORKER_NAME" in (s.get("environment") or {})]
    assert sorted(workers) == sorted(COMPOSE_WORKERS)
    for name in COMPOSE_WORKERS:
        networks = services[name]["networks"]
        assert isinstance(networks, dict)
        assert networks["internal"] == {"aliases": ["worker"]}


def test_bot_replicas_are_bounded_by_the_edge_server_slots() -> None:
    edge = (REPO_ROOT / "haproxy" / "haproxy.compose.cfg").read_text(encoding="utf-8")
    match = re.search(r"server-template bot 1-(\d+) bot:8000", edge)
    assert match
    assert int(match.group(1)) == MAX_BOT_REPLICAS


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["restart", "bot"], [f"{COMPOSE} restart bot"]),
        (["restart", "haproxy"], [f"{COMPOSE} restart haproxy"]),
        (["restart", "bot2"], ["docker restart fok-bot-2"]),
        (["scale", "bot", "5"], [f"{COMPOSE} up -d --no-deps --scale bot=5 bot"]),
        (
            ["scale", "worker-reminders", "3"],
            [f"{COMPOSE} up -d --no-deps --scale worker-reminders=3 worker-reminders"],
        ),
        (
            ["scale", "celery-worker", "2"],
            [
                f"{COMPOSE} up -d --no-deps"
                " --scale worker-notifications=2 --scale worker-reminders=2"
                " --scale worker-reports=2 --scale worker-backups=2"
                " worker-notifications worker-reminders worker-reports worker-backups"
            ],
        ),
        # the cli service's first argument is its role (docker/entrypoint.sh)
        (["backup"], [f"{COMPOSE} run --rm --no-deps cli cli backup"]),
    ],
)
def test_the_dry_run_prints_the_compose_command_and_runs_nothing(
    args: list[str], expected: list[str]
) -> None:
    result = monitor("--dry-run", *args)
    assert result.returncode == 0, result.stderr
    assert commands(result.stdout) == expected
    assert "dry run: nothing was changed" in result.stdout


def test_scaling_bots_reminds_of_what_keeps_the_number() -> None:
    result = monitor("scale", "bot", "4", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "set BOT_REPLICAS=4 in .env.prod.example" in result.stdout


def test_the_backup_command_is_a_role_the_image_has() -> None:
    entrypoint = (REPO_ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    assert re.search(r"^\s+cli\)\n\s+exec python scripts/admin_tools.py \"\$@\"", entrypoint, re.M)
    cli = compose_services()["cli"]
    assert "backups:/var/backups/fok" in cli["volumes"]  # type: ignore[operator]


def test_another_project_name_is_used_throughout() -> None:
    result = monitor("--project", "fok-staging", "--dry-run", "restart", "bot3")
    assert commands(result.stdout) == ["docker restart fok-staging-bot-3"]
    result = monitor("--project", "fok-staging", "--dry-run", "backup")
    assert commands(result.stdout)[0].startswith("docker compose -p fok-staging ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scale", "bot", "11"], "1 to 10 replicas (haproxy.compose.cfg has 10 server slots)"),
        (["scale", "bot", "0"], "1 to 10 replicas"),
        (["scale", "bot", "many"], "the count must be a number"),
        (["scale", "beat", "3"], "the beat stays at two"),
        (["scale", "mongo-2", "2"], "data services have fixed addresses"),
        (["scale", "grafana", "2"], "is not scalable"),
        (["restart", "migrate"], "one-shot job"),
        (["restart", "nonesuch"], "no service 'nonesuch'"),
        (["restart"], "usage: restart SERVICE"),
        (["scale", "bot"], "usage: scale SERVICE COUNT"),
        (["overview", "extra"], "overview takes no arguments"),
        (["overview", "--dry-run"], "--dry-run is for restart, scale and backup"),
    ],
)
def test_what_cannot_be_done_is_refused_with_the_reason(args: list[str], message: str) -> None:
    result = monitor(*args) if args[0] == "overview" else monitor("--dry-run", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert commands(result.stdout) == []


def test_the_script_runs_the_module_without_docker_on_path() -> None:
    result = script("--compose", "--env-file", str(EXAMPLE_ENV), "--dry-run", "scale", "bot", "2")
    assert result.returncode == 0, result.stderr
    assert commands(result.stdout) == [f"{COMPOSE} up -d --no-deps --scale bot=2 bot"]
    usage = script("--help")
    assert usage.returncode == 0
    for command in ("overview", "infra", "metrics", "logs [SVC] [N]", "alerts", "full"):
        assert command in usage.stdout
    assert script("nonesuch").returncode == 2


def test_a_real_action_needs_the_env_file(tmp_path: Path) -> None:
    result = script("--compose", "--env-file", str(tmp_path / ".env.prod"), "backup")
    assert result.returncode == 2
    assert f"{tmp_path / '.env.prod'} does not exist" in result.stderr
    assert commands(result.stdout) == []


def test_without_a_compose_v2_every_source_says_so_and_the_exit_is_unhealthy(
    tmp_path: Path,
) -> None:
    # a docker that knows no `compose`, and nothing listening on the management ports
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(
        '#!/bin/sh\necho "docker: unknown command: docker $1" >&2\nexit 125\n'
    )
    (fake / "docker").chmod(0o755)
    result = script(
        *("--compose", "--env-file", str(EXAMPLE_ENV), "overview", "--json"),
        env={
            "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
            "FOK_ALERTMANAGER_URL": "http://127.0.0.1:9",
            "FOK_HAPROXY_STATS_URL": "http://127.0.0.1:9",
        },
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["mode"] == "compose"
    assert report["healthy"] is False
    services = report["sections"]["processes"]
    assert services["error"] == "Docker Compose v2 is not installed (`docker compose` is unknown)"
    # the example leaves the stats password empty: said, not sent
    assert report["sections"]["haproxy"]["error"].startswith("STATS_PASSWORD is not set")
    assert "127.0.0.1:9" in report["sections"]["alerts"]["error"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    section = Section("x", "Things", ["state"], rows=[["DOWN"], ["ok"]], problems=["x is DOWN"])

    def rendered(out: io.StringIO) -> str:
        render([section], _console(out), "header")
        return out.getvalue()

    on_terminal = rendered(Terminal())
    assert "\x1b[1;31mDOWN" in on_terminal  # bold red
    assert "\x1b[32mok" in on_terminal
    assert "UNHEALTHY: 1 problem(s)" in on_terminal
    in_a_pipe = rendered(io.StringIO())
    assert "\x1b[" not in in_a_pipe
    assert "UNHEALTHY: 1 problem(s)" in in_a_pipe
    # NO_COLOR (no-color.org) takes the colours away, not the emphasis
    monkeypatch.setenv("NO_COLOR", "1")
    without = rendered(Terminal())
    assert "31m" not in without
    assert "32m" not in without
