""".env.prod.example as data, and a complete throwaway environment made from it.

The example leaves every secret empty; the throwaway fills them with well-formed fakes, so a check
can load the configuration exactly as a filled-in .env.prod would.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.prod.example"

# Well-formed fakes for the values the example leaves empty on purpose.
PLACEHOLDERS = {
    "TELEGRAM_BOT_TOKEN": "123456789:THROWAWAY_token-for-deploy-checks-0000",
    "TELEGRAM_WEBHOOK_SECRET": "throwaway-webhook-secret-0123456789",
    "MONGO_ROOT_PASSWORD": "throwaway-mongo-root-0123456789",
    "MONGO_APP_PASSWORD": "throwaway-mongo-app-0123456789",
    "MONGO_EXPORTER_PASSWORD": "throwaway-mongo-exporter-0123456789",
    "MONGO_BACKUP_PASSWORD": "throwaway-mongo-backup-0123456789",
    "REDIS_PASSWORD": "throwaway-redis-0123456789",
    "BROKER_REDIS_PASSWORD": "throwaway-broker-0123456789",
    "STATS_PASSWORD": "throwaway-stats-0123456789",
    "GRAFANA_ADMIN_PASSWORD": "throwaway-grafana-0123456789",
    "ALERT_TELEGRAM_CHAT_ID": "-1001234567890",
}


def example_lines() -> list[str]:
    return EXAMPLE.read_text(encoding="utf-8").splitlines()


def example_values() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in example_lines() if line and not line.startswith("#")]
    return {name: value for name, value in pairs}


def example_names() -> list[str]:
    return [line.split("=", 1)[0] for line in example_lines() if line and not line.startswith("#")]


def complete_values() -> dict[str, str]:
    values = example_values()
    for name, placeholder in PLACEHOLDERS.items():
        assert name in values, f"{name} is no longer in .env.prod.example"
        if not values[name]:
            values[name] = placeholder
    return values


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text(
        "".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8"
    )
    return path
