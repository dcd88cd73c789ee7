"""No secret in any log record: every logger (uvicorn's and gunicorn's too), every part of a record.

The secrets are those of a production process: the bot token, the webhook secret, the MongoDB URL
and its password, the broker URL and its password, the Redis password, and HAProxy's stats
password (only in the environment). ``tests/e2e/conftest.py`` checks the same for the log files
of every real bot process of the e2e run.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger as GunicornLogger

from bot.infra.logs import (
    REDACTED,
    SecretScrubber,
    configure_logging,
    environment_secrets,
    install_scrubber,
    secret_forms,
)

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_SECRET = "webhook-secret-Zx81kq20aa"
MONGO_PASSWORD = "mongo-pass-77Qw/e"  # "/" is written %2F in the URL
MONGO_URL = "mongodb://fok_bot:mongo-pass-77Qw%2Fe@mongo-1:27017,mongo-2:27017/?replicaSet=fok-rs"
BROKER_PASSWORD = "broker-pass-e3b0c442"
BROKER_URL = f"redis://:{BROKER_PASSWORD}@redis-broker:6379/0"
REDIS_PASSWORD = "cluster-pass-98fc1c14"
STATS_PASSWORD = "stats-pass-9afbf4c8"
SECRETS = (
    TOKEN,
    WEBHOOK_SECRET,
    MONGO_PASSWORD,
    "mongo-pass-77Qw%2Fe",
    BROKER_PASSWORD,
    REDIS_PASSWORD,
    STATS_PASSWORD,
)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bot process's environment (what gunicorn's master also sees)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("MONGO_URL", MONGO_URL)
    monkeypatch.setenv("CELERY_BROKER_URL", BROKER_URL)
    monkeypatch.setenv("REDIS_PASSWORD", REDIS_PASSWORD)
    monkeypatch.setenv("STATS_PASSWORD", STATS_PASSWORD)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    for name in ("uvicorn.error", "gunicorn.error", "gunicorn.access", "fok.own-handler"):
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            handler.close()
        logger.handlers = []
        logger.propagate = True


def leak_everything(log: logging.Logger) -> None:
    """Every way a secret may ride on a record."""
    log.warning("connecting to %s with token %s", MONGO_URL, TOKEN)
    log.warning(
        "dependency failed",
        extra={
            "url": BROKER_URL,
            "detail": {"password": REDIS_PASSWORD, "nested": [STATS_PASSWORD, WEBHOOK_SECRET]},
            "attempt": 3,
        },
    )
    try:
        raise ConnectionError(f"AUTH {REDIS_PASSWORD} failed for {BROKER_URL} at {MONGO_URL}")
    except ConnectionError:
        log.exception("broker down (%s)", STATS_PASSWORD)
    log.error("where: %s", WEBHOOK_SECRET, stack_info=True)
    # A URL the scrubber was never told about: its password still goes.
    log.error("elsewhere: amqp://guest:unlisted-pass-123@rabbit:5672//")


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked:\n{text}"
    assert "unlisted-pass-123" not in text
    assert REDACTED in text


def test_secret_forms_take_each_url_password_as_written_and_decoded() -> None:
    assert set(secret_forms([MONGO_URL, TOKEN, None, "", "mongodb://127.0.0.1:27017"])) == {
        MONGO_URL,
        "mongo-pass-77Qw%2Fe",
        MONGO_PASSWORD,
        TOKEN,
    }
    environ = {
        "STATS_PASSWORD": STATS_PASSWORD,
        "CELERY_BROKER_URL": BROKER_URL,
        "TELEGRAM_API_BASE_URL": "https://api.telegram.org",
        "HOME": "/root",
    }
    assert set(environment_secrets(environ)) == {STATS_PASSWORD, BROKER_URL, BROKER_PASSWORD}


@pytest.mark.usefixtures("environment", "restore_logging")
def test_every_logger_every_field_json_and_text(tmp_path: Path) -> None:
    # uvicorn and gunicorn keep their own handlers and do not propagate to the root.
    gunicorn_out = tmp_path / "gunicorn.log"
    config = Config()
    config.set("errorlog", str(gunicorn_out))
    config.set("loglevel", "info")
    gunicorn_logger = GunicornLogger(config)
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.handlers = gunicorn_logger.error_log.handlers  # what UvicornWorker does
    uvicorn_error.propagate = False
    own_stream = io.StringIO()
    own = logging.getLogger("fok.own-handler")
    own.addHandler(logging.StreamHandler(own_stream))
    own.propagate = False

    for json in (True, False):
        configure_logging(
            instance="bot-1",
            json=json,
            secrets=[TOKEN, WEBHOOK_SECRET, MONGO_URL, BROKER_URL, REDIS_PASSWORD],
        )
        root_stream = io.StringIO()
        root_handler = logging.getLogger().handlers[0]
        assert isinstance(root_handler, logging.StreamHandler)
        root_handler.setStream(root_stream)
        for logger in (logging.getLogger("bot.anything"), uvicorn_error, own):
            leak_everything(logger)
        gunicorn_logger.error("worker failed: %s", BROKER_URL)
        assert_clean(root_stream.getvalue())
        assert "Traceback" in root_stream.getvalue()
    for handler in gunicorn_logger.error_log.handlers:
        handler.flush()
    assert_clean(gunicorn_out.read_text())
    assert_clean(own_stream.getvalue())


@pytest.mark.usefixtures("environment", "restore_logging")
def test_gunicorn_master_handlers_are_scrubbed_from_the_environment_alone(
    tmp_path: Path,
) -> None:
    """What bot/web/gunicorn_conf.py's on_starting does before any worker or app exists."""
    out = tmp_path / "master.log"
    config = Config()
    config.set("errorlog", str(out))
    master = GunicornLogger(config)
    install_scrubber(SecretScrubber(environment_secrets()))
    try:
        raise RuntimeError(f"bad {MONGO_URL} {TOKEN} {REDIS_PASSWORD} {STATS_PASSWORD}")
    except RuntimeError:
        master.exception("boot failed for %s", BROKER_URL)
    for handler in master.error_log.handlers:
        handler.flush()
    text = out.read_text()
    for secret in SECRETS:
        if secret != WEBHOOK_SECRET:  # not in this record
            assert secret not in text
    assert "Traceback" in text


def test_the_gunicorn_config_installs_the_scrubber_at_start_and_in_each_worker() -> None:
    # Read, not imported: importing the config sets PROMETHEUS_MULTIPROC_DIR for this process.
    source = (Path(__file__).resolve().parents[2] / "bot/web/gunicorn_conf.py").read_text()
    for hook in ("def on_starting(", "def post_worker_init(", "def on_reload("):
        body = source.split(hook, 1)[1].split("\ndef ", 1)[0]
        assert "_scrub_gunicorn_logs()" in body, hook
