"""haproxy/haproxy.compose.cfg: generated from haproxy.cfg, and valid with .env.prod.example."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy import haproxy_compose
from tests.deploy.envfile import example_values

ROOT = Path(__file__).resolve().parents[2]


def test_the_compose_edge_is_haproxy_cfg_with_only_the_servers_changed() -> None:
    expected = haproxy_compose.render(haproxy_compose.SOURCE.read_text(encoding="utf-8"))
    assert haproxy_compose.TARGET.read_text(encoding="utf-8") == expected, (
        "haproxy.compose.cfg is stale: run .venv/bin/python -m tests.deploy.haproxy_compose"
    )


def test_a_change_to_the_servers_block_is_noticed() -> None:
    changed = haproxy_compose.SOURCE.read_text(encoding="utf-8").replace(
        '    server bot3 "${BOT3_ADDR}"\n', ""
    )
    with pytest.raises(ValueError, match="server bot1"):
        haproxy_compose.render(changed)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [str(ROOT / "scripts" / "make-selfsigned-cert.sh"), str(directory), "localhost"],
        capture_output=True,
        check=True,
    )
    return directory / "haproxy.pem"


def haproxy_check(values: dict[str, str], certificate: Path) -> subprocess.CompletedProcess[str]:
    """haproxy -c the way the haproxy container loads it: the example's values plus what the
    compose file sets for the container."""
    haproxy = shutil.which("haproxy")
    assert haproxy, "haproxy is missing: run scripts/install.sh"
    env = {
        "PATH": os.environ["PATH"],
        **values,
        "HTTPS_BIND": ":443",
        "HTTP_BIND": ":80",
        "STATS_BIND": ":8404",
        "METRICS_BIND": ":8405",
        "TLS_CERT_PEM": str(certificate),
        "WEBHOOK_PATH": values["TELEGRAM_WEBHOOK_PATH"],
        "WEBHOOK_SECRET_TOKEN": "throwaway-webhook-secret-0123456789",
        "WEBHOOK_MAX_BODY_BYTES": values["WEB_MAX_BODY_BYTES"],
        "STATS_PASSWORD": "throwaway-stats-0123456789",
    }
    return subprocess.run(
        [haproxy, "-dW", "-c", "-f", str(haproxy_compose.TARGET)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_haproxy_accepts_the_example(certificate: Path) -> None:
    result = haproxy_check(example_values(), certificate)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_empty_runtime_socket_would_fail(certificate: Path) -> None:
    # What .env.prod.example used to say (HAPROXY_RUNTIME_SOCKET=): defined but empty.
    values = {**example_values(), "HAPROXY_RUNTIME_SOCKET": ""}
    result = haproxy_check(values, certificate)
    assert result.returncode != 0


def test_compose_defaults_agree_with_the_settings() -> None:
    from bot.settings import TelegramSettings, WebSettings
    from tests.deploy import compose_rules

    haproxy = compose_rules.environment_of(compose_rules.load(), "haproxy")
    path_default = TelegramSettings.model_fields["webhook_path"].default
    body_default = WebSettings.model_fields["max_body_bytes"].default
    assert haproxy["WEBHOOK_PATH"] == f"${{TELEGRAM_WEBHOOK_PATH:-{path_default}}}"
    assert haproxy["WEBHOOK_MAX_BODY_BYTES"] == f"${{WEB_MAX_BODY_BYTES:-{body_default}}}"
    assert example_values()["TELEGRAM_WEBHOOK_PATH"] == path_default
    assert example_values()["WEB_MAX_BODY_BYTES"] == str(body_default)
