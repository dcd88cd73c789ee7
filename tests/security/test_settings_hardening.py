"""Settings that keep a production process safe: https only, a MongoDB bound below the update
deadline, internal endpoints for internal networks."""

from __future__ import annotations

import ipaddress

import pytest

from bot.settings import (
    RuntimeEnv,
    SettingsError,
    TelegramSettings,
    env_names,
    load_section,
    load_settings,
)

VALID = {
    "TELEGRAM_BOT_TOKEN": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "TELEGRAM_WEBHOOK_SECRET": "s3cr3t-s3cr3t-s3cr3t",
    "MONGO_URL": "mongodb://127.0.0.1:27017/?directConnection=true",
    "REDIS_CLUSTER_NODES": "127.0.0.1:7000",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize("variable", ["TELEGRAM_API_BASE_URL", "TELEGRAM_WEBHOOK_URL"])
def test_plain_http_telegram_urls_are_refused_outside_local_mode(
    env: pytest.MonkeyPatch, variable: str
) -> None:
    env.setenv(variable, "http://emulator.internal:8081/telegram/webhook")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert f"{variable}: Value error, must be an https:// URL" in str(refused.value)
    # The operator CLI loads the Telegram section alone: the same refusal.
    with pytest.raises(SettingsError, match=variable):
        load_section(TelegramSettings)
    env.setenv("APP_ENV", "production")
    with pytest.raises(SettingsError, match=variable):
        load_settings()

    env.setenv("APP_ENV", "local")  # the emulator, python -m devcluster, the tests
    settings = load_settings()
    assert settings.app.env is RuntimeEnv.LOCAL


def test_production_is_the_default_and_https_passes(env: pytest.MonkeyPatch) -> None:
    env.setenv("TELEGRAM_WEBHOOK_URL", "https://fok.example.org/telegram/webhook")
    settings = load_settings()
    assert settings.app.env is RuntimeEnv.PRODUCTION
    assert str(settings.telegram.api_base_url) == "https://api.telegram.org/"


def test_the_mongo_operation_timeout_must_stay_below_the_update_deadline(
    env: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert settings.mongo.operation_timeout_ms == 4000
    assert settings.update_deadline_s == 20.0  # WEB_DRAIN_SECONDS
    env.setenv("WEB_DRAIN_SECONDS", "0")  # the deadline falls back to 5 s
    env.setenv("MONGO_OPERATION_TIMEOUT_MS", "5000")
    with pytest.raises(SettingsError, match="MONGO_OPERATION_TIMEOUT_MS: must be below"):
        load_settings()
    env.setenv("MONGO_OPERATION_TIMEOUT_MS", "4999")
    assert load_settings().mongo.operation_timeout_ms == 4999


def test_internal_networks_default_to_loopback_and_private_ranges(
    env: pytest.MonkeyPatch,
) -> None:
    networks = load_settings().web.internal_networks
    assert ipaddress.ip_address("127.0.0.1") in networks[0]
    for inside in ("10.1.2.3", "172.20.0.5", "192.168.1.1", "::1", "fd00::5"):
        assert any(ipaddress.ip_address(inside) in n for n in networks), inside
    for outside in ("8.8.8.8", "149.154.167.220", "2001:db8::1"):
        assert not any(ipaddress.ip_address(outside) in n for n in networks), outside
    env.setenv("WEB_INTERNAL_NETWORKS", "10.20.0.0/16, 127.0.0.1/32")
    assert [str(n) for n in load_settings().web.internal_networks] == [
        "10.20.0.0/16",
        "127.0.0.1/32",
    ]
    env.setenv("WEB_INTERNAL_NETWORKS", "")  # left empty in .env.prod: the default
    assert load_settings().web.internal_networks == networks
    env.setenv("WEB_INTERNAL_NETWORKS", "everyone")
    with pytest.raises(SettingsError, match="WEB_INTERNAL_NETWORKS"):
        load_settings()
