"""Settings: every problem names its variable; secrets never appear in the error."""

from __future__ import annotations

import pytest

from bot.bootstrap import outbound_limits
from bot.infra.redis.outbound import SendPurpose
from bot.settings import MongoSettings, SettingsError, env_names, load_section, load_settings

VALID = {
    "TELEGRAM_BOT_TOKEN": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "TELEGRAM_WEBHOOK_SECRET": "s3cr3t-s3cr3t-s3cr3t",
    "MONGO_URL": "mongodb://127.0.0.1:27017/?directConnection=true",
    "REDIS_CLUSTER_NODES": "127.0.0.1:7000, 127.0.0.1:7001",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_valid_environment_loads(env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.redis.cluster_nodes == [("127.0.0.1", 7000), ("127.0.0.1", 7001)]
    assert settings.telegram.webhook_path == "/telegram/webhook"
    assert str(settings.telegram.api_base_url) == "https://api.telegram.org/"
    assert settings.app.default_timezone == "Europe/Moscow"


def test_all_problems_reported_with_variable_names(env: pytest.MonkeyPatch) -> None:
    env.setenv("TELEGRAM_BOT_TOKEN", "not-a-token-SECRETVALUE")
    env.delenv("MONGO_URL")
    env.setenv("REDIS_CLUSTER_NODES", "localhost")
    env.setenv("CELERY_BROKER_URL", "amqp://guest@x//")
    env.setenv("LIMITS_GLOBAL_SENDS_PER_SECOND", "31")
    env.setenv("APP_SUPER_ADMIN_IDS", "1,abc")
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "MONGO_URL",
        "REDIS_CLUSTER_NODES",
        "CELERY_BROKER_URL",
        "LIMITS_GLOBAL_SENDS_PER_SECOND",
        "APP_SUPER_ADMIN_IDS",
    ):
        assert name in message
    assert "SECRETVALUE" not in message


def test_weak_webhook_secret_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("TELEGRAM_WEBHOOK_SECRET", "short")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings()


def test_section_alone(env: pytest.MonkeyPatch) -> None:
    env.delenv("TELEGRAM_BOT_TOKEN")
    assert load_section(MongoSettings).database == "fok_bot"
    env.setenv("MONGO_DATABASE", "bad name!")
    with pytest.raises(SettingsError, match="MONGO_DATABASE"):
        load_section(MongoSettings)


def test_super_admins_parsed(env: pytest.MonkeyPatch) -> None:
    env.setenv("APP_SUPER_ADMIN_IDS", "111, 222")
    assert load_settings().app.super_admin_ids == [111, 222]


def test_replies_have_no_global_budget_unless_capped_and_never_the_bulk_one(
    env: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert settings.limits.reply_sends_per_second == 0
    assert outbound_limits(settings, SendPurpose.REPLY).global_rate_per_s is None
    assert outbound_limits(settings, SendPurpose.BULK).global_rate_per_s == 25

    env.setenv("LIMITS_GLOBAL_SENDS_PER_SECOND", "12")
    env.setenv("LIMITS_REPLY_SENDS_PER_SECOND", "40")
    settings = load_settings()
    assert outbound_limits(settings, SendPurpose.REPLY).global_rate_per_s == 40
    assert outbound_limits(settings, SendPurpose.BULK).global_rate_per_s == 12
    # Every purpose keeps the per-chat and group limits.
    for purpose in SendPurpose:
        limits = outbound_limits(settings, purpose)
        assert (limits.chat_interval_s, limits.group_interval_s) == (1.0, 3.0)

    env.setenv("LIMITS_REPLY_SENDS_PER_SECOND", "-1")
    with pytest.raises(SettingsError, match="LIMITS_REPLY_SENDS_PER_SECOND"):
        load_settings()


def test_the_send_jitter_widens_the_budget_window(env: pytest.MonkeyPatch) -> None:
    default = outbound_limits(load_settings(), SendPurpose.BULK)
    assert default.global_jitter_s == 0.025
    env.setenv("LIMITS_GLOBAL_SEND_JITTER_SECONDS", "0.25")
    assert outbound_limits(load_settings(), SendPurpose.BULK).global_jitter_s == 0.25
    env.setenv("LIMITS_GLOBAL_SEND_JITTER_SECONDS", "-0.1")
    with pytest.raises(SettingsError, match="LIMITS_GLOBAL_SEND_JITTER_SECONDS"):
        load_settings()
