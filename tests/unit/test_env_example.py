"""`.env.prod.example` names exactly what the settings and the HAProxy config read."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import env_names

ROOT = Path(__file__).resolve().parents[2]


def example_names() -> list[str]:
    lines = (ROOT / ".env.prod.example").read_text(encoding="utf-8").splitlines()
    return [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]


def haproxy_names() -> set[str]:
    config = (ROOT / "haproxy" / "haproxy.cfg").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{([A-Z0-9_]+)\}", config))


def test_every_setting_is_documented_once() -> None:
    names = example_names()
    assert len(names) == len(set(names)), "a variable appears twice"
    missing = set(env_names()) - set(names)
    assert not missing, f"settings not in .env.prod.example: {sorted(missing)}"


def test_nothing_unknown_is_documented() -> None:
    unknown = set(example_names()) - set(env_names()) - haproxy_names()
    assert not unknown, f"documented but read by nothing: {sorted(unknown)}"
    assert haproxy_names() <= set(example_names())


def test_no_secret_values_committed() -> None:
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.prod.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_WEBHOOK_SECRET",
        "MONGO_URL",
        "REDIS_PASSWORD",
        "CELERY_BROKER_URL",
        "WEBHOOK_SECRET_TOKEN",
        "STATS_PASSWORD",
    ):
        assert values[name] == "", name
