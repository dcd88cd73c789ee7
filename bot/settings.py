"""Settings from the environment, in sections, validated once at start.

Every variable is named ``<SECTION PREFIX><FIELD>`` in upper case (``MONGO_URL``,
``TELEGRAM_BOT_TOKEN``...). A bad or missing value stops the process with an error that names the
variable, never its value (secrets must not reach logs).
"""

from __future__ import annotations

import enum
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The update deadline (bot/web/pipeline.py update_deadline_s) is max(WEB_DRAIN_SECONDS, this).
MIN_UPDATE_DEADLINE_S = 5.0

WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
BOT_TOKEN_PATTERN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")


SectionT = TypeVar("SectionT", bound=BaseSettings)


class SettingsError(Exception):
    """Raised with one line per bad variable."""


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)


class RuntimeEnv(enum.StrEnum):
    """``APP_ENV``: ``production`` (the default) refuses plain-HTTP Telegram URLs; ``local``
    (``python -m devcluster``, the tests: the emulator speaks http://) allows them."""

    LOCAL = "local"
    PRODUCTION = "production"


class _RuntimeEnvOnly(BaseSettings):
    """``APP_ENV`` alone, for the checks of other sections (a CLI command may load only one)."""

    model_config = _section("APP_")

    env: RuntimeEnv = RuntimeEnv.PRODUCTION


def _https_unless_local(value: AnyHttpUrl | None) -> AnyHttpUrl | None:
    if (
        value is not None
        and value.scheme != "https"
        and _RuntimeEnvOnly().env is not RuntimeEnv.LOCAL
    ):
        raise ValueError("must be an https:// URL (http:// only with APP_ENV=local)")
    return value


class TelegramSettings(BaseSettings):
    model_config = _section("TELEGRAM_")

    bot_token: SecretStr
    api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    webhook_secret: SecretStr
    webhook_path: str = "/telegram/webhook"
    webhook_url: AnyHttpUrl | None = None
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    http_pool_size: int = Field(default=8, ge=1, le=256)
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_ca_file: str | None = None

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not BOT_TOKEN_PATTERN.match(value.get_secret_value()):
            raise ValueError("must look like <digits>:<token>")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr) -> SecretStr:
        if not WEBHOOK_SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError("must be 16-256 characters of A-Z a-z 0-9 _ -")
        return value

    @field_validator("api_base_url", "webhook_url")
    @classmethod
    def _https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return _https_unless_local(value)

    @field_validator("webhook_path")
    @classmethod
    def _path_shape(cls, value: str) -> str:
        if not re.fullmatch(r"/[A-Za-z0-9/_-]{1,100}", value):
            raise ValueError("must be an absolute path of letters, digits, / _ -")
        return value


class MongoSettings(BaseSettings):
    model_config = _section("MONGO_")

    url: SecretStr
    database: str = Field(default="fok_bot", pattern=r"^[A-Za-z0-9_-]{1,60}$")
    timeout_ms: int = Field(default=5000, ge=100, le=60000)
    # The web tier's bound on every MongoDB operation (PyMongo's timeoutMS): below the update
    # deadline, so a slow database ends an update with a transient error (503, Telegram retries)
    # instead of running into the deadline. Workers and the CLI have none (backups read long
    # cursors).
    operation_timeout_ms: int = Field(default=4000, ge=100, le=60000)


class RedisSettings(BaseSettings):
    model_config = _section("REDIS_")

    cluster_nodes: Annotated[list[tuple[str, int]], NoDecode]
    password: SecretStr | None = None
    max_connections: int = Field(default=64, ge=4, le=10000)

    @field_validator("cluster_nodes", mode="before")
    @classmethod
    def _parse_nodes(cls, value: object) -> object:
        if isinstance(value, str):
            nodes = []
            for item in value.split(","):
                host, _, port = item.strip().rpartition(":")
                if not host or not port.isdigit() or not 0 < int(port) < 65536:
                    raise ValueError("must be a comma-separated list of host:port")
                nodes.append((host, int(port)))
            if not nodes:
                raise ValueError("needs at least one host:port")
            return nodes
        return value


class CelerySettings(BaseSettings):
    """The workers and the beat: broker, schedule, the beat's lock, and how delivery retries.

    Two beats run in every deployment; RedBeat's lock lets one schedule at a time. The holder
    renews the lock every ``beat_takeover_seconds - beat_lock_timeout_seconds`` (its loop) and a
    standby polls it as often, so a standby takes over at most ``beat_takeover_seconds`` after the
    holder died (docs/operations.md).
    """

    model_config = _section("CELERY_")

    broker_url: SecretStr
    beat_lock_timeout_seconds: int = Field(default=30, ge=2, le=600)
    beat_takeover_seconds: int = Field(default=35, ge=3, le=900)
    # How often beat sends each periodic task (workers/schedule.py).
    beat_deliver_notices_seconds: float = Field(default=5.0, ge=0.5, le=86400)
    beat_deliver_reminders_seconds: float = Field(default=15.0, ge=0.5, le=86400)
    beat_expire_offers_seconds: float = Field(default=30.0, ge=0.5, le=86400)
    beat_generate_sessions_seconds: float = Field(default=3600.0, ge=0.5, le=86400)
    beat_observe_seconds: float = Field(default=30.0, ge=0.5, le=86400)
    # The repair of what a cut-off multi-step write left wrong (bot/services/repair.py).
    beat_repair_seconds: float = Field(default=300.0, ge=0.5, le=86400)
    # Delivery of notices and reminders (bot/services/delivery.py DeliveryPolicy): a claimed item
    # is renewed while it is being sent, so a dead worker's item is free again after the lease.
    delivery_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    # A failed item waits initial * 2^attempts (half of it jittered), at most retry_max.
    delivery_retry_initial_seconds: float = Field(default=15.0, gt=0, le=3600)
    delivery_retry_max_seconds: float = Field(default=7200.0, gt=0, le=86400)
    # Failures that are not transient (Telegram refused the message, it cannot be rendered)
    # before the item is parked with its last error for an operator.
    delivery_poison_attempts: int = Field(default=5, ge=1, le=100)
    # A notice not delivered within this long is dropped as stale (reminders go stale when their
    # session starts, seat offers when they expire).
    delivery_notice_max_age_seconds: float = Field(default=259200.0, ge=60, le=2592000)
    # One delivery run stops claiming after this long (below the task's soft time limit).
    delivery_run_seconds: float = Field(default=120.0, ge=1, le=200)

    @field_validator("broker_url")
    @classmethod
    def _standalone_redis(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// URL of a standalone Redis (not the cluster)")
        return value

    @field_validator("beat_takeover_seconds")
    @classmethod
    def _lock_renewed_in_time(cls, value: int, info: ValidationInfo) -> int:
        lock = info.data.get("beat_lock_timeout_seconds")
        if lock is not None and not 1 <= value - lock <= lock / 2:
            raise ValueError(
                "must exceed CELERY_BEAT_LOCK_TIMEOUT_SECONDS by 1 s to half of it (the lock's "
                "holder renews it, and a standby looks at it, every difference)"
            )
        return value

    @field_validator("delivery_retry_max_seconds")
    @classmethod
    def _max_above_initial(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("delivery_retry_initial_seconds")
        if initial is not None and value < initial:
            raise ValueError("must not be below CELERY_DELIVERY_RETRY_INITIAL_SECONDS")
        return value

    @property
    def beat_loop_seconds(self) -> int:
        """How often the holder renews the lock and a standby looks whether it is free."""
        return self.beat_takeover_seconds - self.beat_lock_timeout_seconds


class LimitSettings(BaseSettings):
    model_config = _section("LIMITS_")

    user_updates_per_window: int = Field(default=20, ge=1, le=1000)
    user_window_seconds: float = Field(default=10.0, gt=0, le=3600)
    # The bulk budget, cluster-wide: what the bot sends on its own (notices, reminders, seat
    # offers, broadcasts, reports; the workers), below Telegram's ~30/s for bulk notifications.
    global_sends_per_second: float = Field(default=25.0, gt=0, le=30)
    # How much later one bulk send may reach Telegram than another, each from its slot, with no
    # second as Telegram counts holding more than the budget: the limiter's window is one second
    # plus this. More holds the budget over a jittery path (a loaded host, a far network) at a
    # sustained rate of budget / (1 + this).
    global_send_jitter_seconds: float = Field(default=0.025, ge=0, le=1)
    # Replies into the chat of the update being handled (the web tier) obey only the per-chat and
    # group limits; a positive value also caps them cluster-wide, with a budget of their own that
    # never shares slots with the bulk one. 0: no cap (the default).
    reply_sends_per_second: float = Field(default=0.0, ge=0, le=1000)
    chat_send_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    group_sends_per_minute: int = Field(default=20, ge=1, le=60)
    max_inflight_updates: int = Field(default=48, ge=1, le=1000)
    # Paid broadcasts (Bot API allow_paid_broadcast, 0.1 Telegram Star a message): an operator's
    # opt-in; broadcasts then go out at up to this many messages a second instead of the
    # global budget, which still bounds every other bulk send.
    allow_paid_broadcast: bool = False
    paid_broadcast_sends_per_second: float = Field(default=100.0, gt=0, le=1000)


# Who may read /metrics and /health/detailed by default: loopback and the private address
# ranges (a container network, a VPC), never a public address and never through the edge proxy.
INTERNAL_NETWORKS = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebSettings(BaseSettings):
    model_config = _section("WEB_")

    instance_id: str = Field(default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=16 << 20)
    drain_seconds: float = Field(default=20.0, ge=0, le=120)
    # A button press's answerCallbackQuery goes back in the webhook response instead of as a
    # Bot API request of its own (bot.infra.telegram.webhook_reply).
    answer_in_response: bool = True
    # Client networks served /metrics and /health/detailed (comma-separated CIDRs).
    internal_networks: Annotated[tuple[IpNetwork, ...], NoDecode] = Field(
        default=INTERNAL_NETWORKS, validate_default=True
    )

    @field_validator("internal_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip() or INTERNAL_NETWORKS  # empty (as in .env.prod.example): default
            try:
                return tuple(
                    ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip()
                )
            except ValueError:
                raise ValueError("must be a comma-separated list of CIDR networks") from None
        return value


class AppSettings(BaseSettings):
    model_config = _section("APP_")

    env: RuntimeEnv = RuntimeEnv.PRODUCTION
    default_timezone: str = "Europe/Moscow"
    super_admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_json: bool = True
    # How stale this process's copy of the catalog may get after another process changed it
    # (its own writes drop the copy at once); 0 reads the database every time.
    catalog_cache_seconds: float = Field(default=10.0, ge=0, le=600)

    @field_validator("super_admin_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("must be a comma-separated list of Telegram user ids")
            return [int(p) for p in parts]
        return value


class BackupSettings(BaseSettings):
    """Where backups go and how many are kept (``admin_tools.py backup``, the ``fok.backup`` task)."""

    model_config = _section("BACKUP_")

    directory: str = Field(default="/var/backups/fok", min_length=1)
    # After each backup the newest ``retention_count`` are kept, minus any older than
    # ``retention_days``; the newest archive is never removed.
    retention_count: int = Field(default=14, ge=1, le=10000)
    retention_days: float = Field(default=30.0, gt=0, le=3660)


class BroadcastSettings(BaseSettings):
    """How broadcasts are fanned out (bot/services/broadcasts.py ``FanoutPolicy``, the
    ``fok.broadcasts`` task every ``poll_seconds``)."""

    model_config = _section("BROADCAST_")

    poll_seconds: float = Field(default=5.0, ge=0.5, le=600)
    # A runner renews its lease on the broadcast while it runs; after a runner died, the next
    # run takes over once the lease has lapsed.
    lease_seconds: float = Field(default=30.0, ge=1, le=600)
    # Sends in flight at once per runner (each still waits for the outbound budget).
    concurrency: int = Field(default=4, ge=1, le=32)
    # The author's progress message is edited at most this often.
    progress_seconds: float = Field(default=3.0, ge=0.5, le=600)
    # One run stops after this long (below the task's time limit); the next run goes on.
    run_seconds: float = Field(default=120.0, ge=1, le=200)


class ReportSettings(BaseSettings):
    """The weekly Excel report to staff: weekday (0 = Monday) and local time, in the zone of
    ``APP_DEFAULT_TIMEZONE`` (workers/schedule.py)."""

    model_config = _section("REPORT_")

    weekly_day: int = Field(default=0, ge=0, le=6)
    weekly_at: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class NoShowSettings(BaseSettings):
    """The no-show rule enforced at booking: ``limit`` no-shows marked within ``window_days``
    stop a resident booking for ``block_days`` after the last of them (a limit of 0: off)."""

    model_config = _section("NO_SHOW_")

    limit: int = Field(default=3, ge=0, le=100)
    window_days: int = Field(default=30, ge=1, le=365)
    block_days: int = Field(default=14, ge=1, le=365)


class TracingSettings(BaseSettings):
    """OpenTelemetry tracing (bot/infra/tracing.py, docs/tracing.md): off unless ``enabled``.

    Off, no tracer provider exists and nothing is instrumented. On, spans go by OTLP/HTTP to
    ``otlp_endpoint``; a trace is kept with probability ``sample_ratio`` (decided at its root,
    followed by every span of it), under the service ``<service_name>-<web|worker|cli>``.
    """

    model_config = _section("TRACING_")

    enabled: bool = False
    # The OTLP/HTTP traces endpoint of a collector (the path included).
    otlp_endpoint: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:4318/v1/traces")
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    service_name: str = Field(default="fok", pattern=r"^[A-Za-z0-9_.-]{1,64}$")


SECTIONS: dict[str, type[BaseSettings]] = {
    "telegram": TelegramSettings,
    "mongo": MongoSettings,
    "redis": RedisSettings,
    "celery": CelerySettings,
    "limits": LimitSettings,
    "web": WebSettings,
    "app": AppSettings,
    "backup": BackupSettings,
    "no_show": NoShowSettings,
    "broadcast": BroadcastSettings,
    "report": ReportSettings,
    "tracing": TracingSettings,
}


@dataclass(frozen=True)
class Settings:
    telegram: TelegramSettings
    mongo: MongoSettings
    redis: RedisSettings
    celery: CelerySettings
    limits: LimitSettings
    web: WebSettings
    app: AppSettings
    backup: BackupSettings = field(default_factory=BackupSettings)
    no_show: NoShowSettings = field(default_factory=NoShowSettings)
    broadcast: BroadcastSettings = field(default_factory=BroadcastSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    tracing: TracingSettings = field(default_factory=TracingSettings)

    def __post_init__(self) -> None:
        if self.mongo.operation_timeout_ms >= self.update_deadline_s * 1000:
            raise SettingsError(
                "invalid configuration:\n  MONGO_OPERATION_TIMEOUT_MS: must be below the update "
                f"deadline, max(WEB_DRAIN_SECONDS, {MIN_UPDATE_DEADLINE_S:g}) s"
            )

    @property
    def update_deadline_s(self) -> float:
        """The longest one update may be processed (see ``bot.web.pipeline``)."""
        return max(self.web.drain_seconds, MIN_UPDATE_DEADLINE_S)


def env_names() -> list[str]:
    """Every variable the settings read, for the .env.prod.example check and the docs."""
    names: list[str] = []
    for section in SECTIONS.values():
        prefix = str(section.model_config.get("env_prefix", ""))
        names.extend(f"{prefix}{name}".upper() for name in section.model_fields)
    return names


def _problems(section: type[BaseSettings], error: ValidationError) -> list[str]:
    prefix = str(section.model_config.get("env_prefix", ""))
    return [
        f"{prefix}{issue['loc'][0] if issue['loc'] else '?'}".upper() + f": {issue['msg']}"
        for issue in error.errors()
    ]


def load_section(section: type[SectionT]) -> SectionT:
    """One section only (a CLI command that needs just MongoDB need not know the bot token)."""
    try:
        return section()
    except ValidationError as error:
        raise SettingsError(
            "invalid configuration:\n  " + "\n  ".join(_problems(section, error))
        ) from None


def load_settings() -> Settings:
    """All sections, so that every problem is reported at once."""
    loaded: dict[str, BaseSettings] = {}
    problems: list[str] = []
    for name, section in SECTIONS.items():
        try:
            loaded[name] = section()
        except ValidationError as error:
            problems.extend(_problems(section, error))
    if problems:
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(problems))
    return Settings(**loaded)  # type: ignore[arg-type]
