"""`.env.prod.example` names exactly what the services read, in both directions.

Readers: the settings model (bot/settings.py), the processes' own variables (gunicorn_conf,
the Celery worker's metrics, the backup time), docker-compose.enterprise.yml (its ${VARS} and
the variables it passes through), HAProxy (haproxy/haproxy.compose.cfg, the config the compose
file runs) and scripts/deploy-enterprise.sh.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import env_names
from tests.deploy import compose_rules
from tests.deploy.envfile import example_names, example_values

ROOT = Path(__file__).resolve().parents[2]
# Read by the settings model, yet deliberately not passed by the compose file.
NOT_PASSED_BY_COMPOSE = {
    # Each replica's own host name (the container's) is the default; one value would be shared.
    "WEB_INSTANCE_ID",
}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN)$")


def process_names() -> set[str]:
    """Variables read straight from os.environ by the gunicorn config and the workers."""
    names: set[str] = set()
    for path in [
        ROOT / "bot" / "web" / "gunicorn_conf.py",
        *sorted((ROOT / "workers").glob("*.py")),
    ]:
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r"os\.environ(?:\.get|\.setdefault)?[\[(]\"([A-Z0-9_]+)\"", text))
        names.update(re.findall(r"^[A-Z_]+_ENV = \"([A-Z0-9_]+)\"", text, re.MULTILINE))
    return names


def haproxy_names() -> set[str]:
    config = (ROOT / "haproxy" / "haproxy.compose.cfg").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{([A-Z0-9_]+)\}", config))


def deploy_script_names() -> set[str]:
    script = (ROOT / "scripts" / "deploy-enterprise.sh").read_text(encoding="utf-8")
    return set(re.findall(r"\benv_get ([A-Z0-9_]+)", script))


def compose_set_names() -> set[str]:
    """Environment keys the compose file gives a value of its own, in any service."""
    doc = compose_rules.load()
    return {
        key
        for name in compose_rules.services(doc)
        for key, value in compose_rules.environment_of(doc, name).items()
        if value is not None
    }


def test_every_variable_is_documented_once() -> None:
    names = example_names()
    assert len(names) == len(set(names)), "a variable appears twice"


def test_every_setting_is_documented() -> None:
    missing = set(env_names()) - set(example_names())
    assert not missing, f"settings not in .env.prod.example: {sorted(missing)}"


def test_nothing_unknown_is_documented() -> None:
    doc = compose_rules.load()
    readers = (
        set(env_names())
        | process_names()
        | compose_rules.interpolated_names(doc)
        | compose_rules.passed_through_names(doc)
        | haproxy_names()
        | deploy_script_names()
    )
    unknown = set(example_names()) - readers
    assert not unknown, f"documented but read by nothing: {sorted(unknown)}"


def test_what_compose_reads_is_documented() -> None:
    doc = compose_rules.load()
    undocumented = (
        compose_rules.interpolated_names(doc) | compose_rules.passed_through_names(doc)
    ) - set(example_names())
    assert not undocumented, f"read by the compose file, not in the example: {sorted(undocumented)}"


def test_what_haproxy_and_the_processes_read_is_documented_or_set_by_compose() -> None:
    provided = set(example_names()) | compose_set_names()
    assert haproxy_names() - provided == set()
    assert process_names() - provided == set()


def test_the_bot_container_gets_every_setting() -> None:
    environment = compose_rules.environment_of(compose_rules.load(), "bot")
    missing = set(env_names()) - set(environment) - NOT_PASSED_BY_COMPOSE
    assert not missing, f"settings the bot service does not pass: {sorted(missing)}"
    unknown = {key for key in environment if key not in set(env_names()) | process_names()}
    assert not unknown, f"the bot service passes what nothing reads: {sorted(unknown)}"


def test_bots_listen_where_haproxy_and_prometheus_look() -> None:
    assert example_values()["WEB_BIND"] == "0.0.0.0:8000"
    assert compose_rules.environment_of(compose_rules.load(), "bot")["WEB_BIND"] == "0.0.0.0:8000"
    assert " bot:8000 " in (ROOT / "haproxy" / "haproxy.compose.cfg").read_text(encoding="utf-8")


def test_no_secret_values_committed() -> None:
    values = example_values()
    secrets = {name for name in values if SECRET_NAME.search(name)} | {
        "MONGO_URL",
        "CELERY_BROKER_URL",
    }
    assert {"TELEGRAM_BOT_TOKEN", "MONGO_ROOT_PASSWORD", "REDIS_PASSWORD"} <= secrets
    committed = {name for name in secrets if values[name] != ""}
    assert not committed, f"secret values in .env.prod.example: {sorted(committed)}"
