"""scripts/deploy-enterprise.sh: shellcheck-clean, and its dry run prints the deploy in order.

The dry run never calls docker (PATH holds no docker here, and the test would see it fail), so
the plan is exactly what a real run executes, step by step.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.deploy.envfile import EXAMPLE, complete_values, write_env_file

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy-enterprise.sh"
STEPS = [
    "preflight",
    "certificate",
    "secrets",
    "validate",
    "images",
    "data",
    "initialise",
    "migrate",
    "monitoring",
    "application",
    "edge",
    "telegram",
    "report",
]


def dry_run(env_file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # No docker on PATH: a dry run that tried to call it would fail, not pass quietly.
    path = os.pathsep.join(
        directory
        for directory in os.environ["PATH"].split(os.pathsep)
        if not (Path(directory) / "docker").exists()
    )
    return subprocess.run(
        ["bash", str(SCRIPT), "--dry-run", "--env-file", str(env_file), *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PATH": path, "FOK_DEPLOY_DIR": "ignored-only-the-env-file-counts"},
    )


def plan_steps(output: str) -> list[str]:
    return [
        match.split(":")[0] for match in re.findall(r"^== step \d+: (.*)$", output, re.MULTILINE)
    ]


def commands(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


def index_of(lines: list[str], pattern: str) -> int:
    hits = [i for i, line in enumerate(lines) if re.search(pattern, line)]
    assert len(hits) >= 1, f"no command matches {pattern!r}"
    return hits[0]


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: run scripts/install.sh"
    scripts = [
        SCRIPT,
        ROOT / "docker" / "entrypoint.sh",
        *sorted((ROOT / "mongo").glob("*.sh")),
        *sorted((ROOT / "redis-cluster").glob("*.sh")),
    ]
    result = subprocess.run(
        [shellcheck, *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_the_dry_run_of_the_example_prints_the_ordered_plan() -> None:
    result = dry_run(EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert plan_steps(result.stdout) == STEPS
    lines = commands(result.stdout)
    order = [
        r"make-selfsigned-cert\.sh .*/tls/self-signed-ca fok\.example\.org$",
        r"openssl rand -base64 756 > .*/secrets/mongo-keyfile",
        r" config -q$",
        r" run --rm --no-deps --entrypoint haproxy haproxy -c ",
        r" pull --quiet ",
        r" build bot$",
        r" up -d --no-deps mongo-1 mongo-2 mongo-3 redis-1 .* redis-broker$",
        r"^wait until healthy: mongo-1 ",
        r" run --rm --no-deps mongo-init$",
        r" run --rm --no-deps redis-cluster-init$",
        r" run --rm --no-deps cli cli db migrate$",
        r" up -d --no-deps node-exporter .* grafana$",
        r"^wait until healthy: node-exporter ",
        r" up -d --no-deps --scale bot=3 bot worker-notifications worker-reminders worker-reports worker-backups beat$",
        r"^wait until healthy: bot ",
        r" up -d --no-deps haproxy$",
        r"^wait until healthy: haproxy$",
        r" run --rm --no-deps -e TELEGRAM_WEBHOOK_CA_FILE=/run/fok-tls/webhook-ca.pem cli cli webhook set$",
        r" run --rm --no-deps cli cli commands publish$",
        r" ps$",
        r" run --rm --no-deps cli cli webhook info$",
    ]
    positions = [index_of(lines, pattern) for pattern in order]
    assert positions == sorted(positions), list(zip(order, positions, strict=True))
    # Every compose call names the project, the environment and the file.
    compose_calls = [line for line in lines if line.startswith("docker compose")]
    assert compose_calls
    assert all(
        f"-p fok --env-file {EXAMPLE} -f {ROOT / 'docker-compose.enterprise.yml'} " in line
        for line in compose_calls
    )
    # The example's empty secrets are reported, by name, as what would stop a real run.
    assert "would stop: MONGO_ROOT_PASSWORD is empty" in result.stdout
    assert "dry run: nothing was changed" in result.stdout


def test_a_complete_environment_has_nothing_to_report(tmp_path: Path) -> None:
    result = dry_run(write_env_file(tmp_path / "prod.env", complete_values()))
    assert result.returncode == 0, result.stderr
    assert "env file checks: 0 problem(s)" in result.stdout


def test_bad_values_are_reported(tmp_path: Path) -> None:
    values = complete_values()
    values["REDIS_PASSWORD"] = "short"
    values["BOT_REPLICAS"] = "12"
    values["TELEGRAM_WEBHOOK_URL"] = "http://fok.example.org/telegram/webhook"
    del values["LIMITS_MAX_INFLIGHT_UPDATES"]
    result = dry_run(write_env_file(tmp_path / "prod.env", values))
    assert "env file checks: 4 problem(s)" in result.stdout
    assert "would stop: REDIS_PASSWORD must be 16-256 characters" in result.stdout
    assert "would stop: BOT_REPLICAS must be 1-10" in result.stdout
    assert "would stop: TELEGRAM_WEBHOOK_URL must be an https:// URL" in result.stdout
    assert "would stop: LIMITS_MAX_INFLIGHT_UPDATES is missing" in result.stdout


def test_a_given_certificate_is_used_and_not_uploaded(tmp_path: Path) -> None:
    values = complete_values()
    values["FOK_TLS_PEM"] = "/etc/ssl/fok/fullchain-and-key.pem"
    values["BOT_REPLICAS"] = "5"
    result = dry_run(write_env_file(tmp_path / "prod.env", values), "--skip-telegram")
    lines = commands(result.stdout)
    assert any(
        line.startswith("install -m 644 /etc/ssl/fok/fullchain-and-key.pem ") for line in lines
    )
    assert not any("make-selfsigned-cert" in line for line in lines)
    assert not any("webhook set" in line for line in lines)
    assert any("--scale bot=5 " in line for line in lines)
