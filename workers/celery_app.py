"""The Celery application of every worker and beat process (``celery -A workers.celery_app``).

Built at import from ``CelerySettings``: a missing or bad ``CELERY_BROKER_URL`` stops the process
at start with the variable's name (there is no default broker). Only addresses are read here; the
clients of the product are opened in each worker process, lazily, on its own event loop
(``workers.tasks``; design §4 rules 7, 9).
"""

from __future__ import annotations

from bot.settings import CelerySettings, SettingsError, load_section
from workers.config import create_celery

__all__ = ["app", "create_celery"]

try:
    _settings = load_section(CelerySettings)
except SettingsError as error:
    # One clear line instead of Celery's "unable to load the application" and a traceback.
    raise SystemExit(f"fok workers cannot start: {error}") from None

app = create_celery(_settings)
