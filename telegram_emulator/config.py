"""Emulator settings: limits, webhook behaviour and preset people."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PresetUser:
    """A user that exists from the start (e.g. a staff account given on the command line)."""

    user_id: int
    first_name: str
    username: str | None = None
    language_code: str = "ru"


@dataclass(frozen=True)
class EmulatorConfig:
    tokens: tuple[str, ...]
    # Telegram's documented limits; burst 1 makes the per-chat limit strict. The global rate is
    # for bulk sends: a bot's sends that are not replies (see reply_window_s) and not paid.
    global_rate: float = 30.0
    # A send counts as a *reply* when it goes to a chat the bot received an update from: one being
    # delivered to its webhook right now, or handed over (delivered, or returned by getUpdates)
    # within the last reply_window_s seconds. Replies are held only to the per-chat and group
    # limits; Telegram's ~30/s is documented for bulk notifications. 10 s covers a bot that answers
    # after its webhook request has returned or a poll loop's next round (a second or two), with
    # room for a slow dependency, while a notice or reminder the bot sends on its own, minutes or
    # hours after the person last wrote, still counts as bulk. 0: only during a webhook delivery.
    reply_window_s: float = 10.0
    # Caps every send of a bot whatever its purpose (replies, bulk, paid), for runs that ask what
    # happens if Telegram throttles harder than it documents; None: no such cap.
    all_sends_rate: float | None = None
    # Paid broadcasts (a send with ``allow_paid_broadcast``): Telegram lets up to 1000 a second
    # through instead of the global limit; they still count against the per-chat limit.
    paid_broadcast_rate: float = 1000.0
    chat_rate: float = 1.0
    chat_burst: int = 1
    group_per_minute: int = 20
    # Telegram does not document edits and callback answers as sends; off by default.
    count_edits_in_chat_limit: bool = False
    webhook_ca_file: str | None = None
    webhook_timeout: float = 10.0
    webhook_backoff_initial: float = 1.0
    webhook_backoff_factor: float = 2.0
    webhook_backoff_max: float = 60.0
    # Telegram keeps retrying for a long time; a bound keeps a dead endpoint from looping forever.
    webhook_max_attempts: int = 100
    allow_http_webhooks: bool = False
    callback_answer_timeout: float = 15.0
    duplicate_window: float = 3.0
    max_upload_bytes: int = 50 * 1024 * 1024
    preset_users: tuple[PresetUser, ...] = field(default_factory=tuple)
    state_dir: str | None = None

    def __post_init__(self) -> None:
        if not self.tokens:
            raise ValueError("at least one bot token is required")
        for token in self.tokens:
            bot_id, _, secret = token.partition(":")
            if not bot_id.isdigit() or not secret:
                raise ValueError("a bot token looks like '<digits>:<secret>'")
        if (
            self.chat_rate <= 0
            or self.global_rate <= 0
            or self.paid_broadcast_rate <= 0
            or self.group_per_minute <= 0
        ):
            raise ValueError("rates must be positive")
        if self.chat_burst < 1:
            raise ValueError("chat_burst must be at least 1")
        if self.reply_window_s < 0:
            raise ValueError("reply_window_s must not be negative")
        if self.all_sends_rate is not None and self.all_sends_rate <= 0:
            raise ValueError("all_sends_rate must be positive (or None for no cap)")
