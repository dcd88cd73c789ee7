"""Everything the emulator knows about one bot: its chats, pending updates and webhook."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from telegram_emulator.clock import Clock
from telegram_emulator.faults import FaultInjector
from telegram_emulator.model import (
    CallbackQuery,
    ChatMessage,
    Counters,
    DeliveryAttempt,
    PendingUpdate,
)
from telegram_emulator.rate_limits import FloodLimiter, Refusal, SendKind
from telegram_emulator.signals import ChangeSignal


@dataclass
class WebhookSettings:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None


@dataclass
class ChatLog:
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    next_message_id: int = 1
    version: int = 0
    reply_keyboard: dict[str, Any] | None = None


class BotState:
    def __init__(self, token: str, clock: Clock) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = f"emulated_{self.bot_id}_bot"
        self.first_name = "FOK Bot (emulated)"
        self.clock = clock
        self.limiter = FloodLimiter(clock)
        self.chat_signal = ChangeSignal()
        self.queue_signal = ChangeSignal()
        self.webhook: WebhookSettings | None = None
        self.next_update_id = 100_000_001
        self.poll_generation = 0
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.faults = FaultInjector()
        self._reset_runtime()

    def _reset_runtime(self) -> None:
        self.chats: dict[int, ChatLog] = {}
        self.started: set[int] = set()
        self.blocked: set[int] = set()
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.last_callback_answers: dict[int, dict[str, Any]] = {}
        self.pending: dict[int, PendingUpdate] = {}
        # Per-chat delivery queues so the webhook dispatcher looks at chat heads only; entries
        # removed from `pending` elsewhere (polling, drops, reset) are skipped lazily.
        self.chat_queues: dict[str, deque[PendingUpdate]] = {}
        self.deliveries: list[DeliveryAttempt] = []
        self.counters = Counters()
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.polling_allowed_updates: list[str] | None = None
        self.webhook_reply_errors: list[dict[str, Any]] = []
        # Times of the sends accepted within the last second, for ``max_sends_per_second``, and
        # of the replies and bulk sends among them for ``max_{reply,bulk}_sends_per_second``.
        self.recent_sends: deque[float] = deque()
        self.recent_by_kind: dict[SendKind, deque[float]] = {kind: deque() for kind in SendKind}
        # Which chats the bot received an update from: delivered to its webhook right now (how
        # many at once), and when one was last handed over (a delivery began or ended, a poll).
        self.chats_being_handled: Counter[int] = Counter()
        self.update_handed_at: dict[int, float] = {}
        self.limiter.clear()

    def reset(self) -> None:
        """Forget chats, counters, queued updates and any fault; keep the webhook and update_ids."""
        self._reset_runtime()
        self.faults.set(None)
        self.chat_signal.notify()
        self.queue_signal.notify()

    def to_api_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def chat_log(self, chat_id: int) -> ChatLog:
        log = self.chats.get(chat_id)
        if log is None:
            log = self.chats[chat_id] = ChatLog()
        return log

    def touch_chat(self, chat_id: int) -> None:
        self.chat_log(chat_id).version += 1
        self.chat_signal.notify()

    def add_pending(self, update: PendingUpdate) -> None:
        self.pending[update.update_id] = update
        self.chat_queues.setdefault(update.order_key, deque()).append(update)
        self.queue_signal.notify()

    def count_send(self, now: float, kind: SendKind) -> None:
        """An accepted send: count it by kind and keep the most seen within any one second
        (window (now-1, now]), of all sends and of replies and bulk sends apart."""
        counters = self.counters
        counters.sent += 1
        if kind is SendKind.REPLY:
            counters.reply_sends += 1
        elif kind is SendKind.BULK:
            counters.bulk_sends += 1
        else:
            counters.paid_broadcasts += 1
        counters.max_sends_per_second = max(
            counters.max_sends_per_second, _count_in_last_second(self.recent_sends, now)
        )
        in_second = _count_in_last_second(self.recent_by_kind[kind], now)
        if kind is SendKind.REPLY:
            counters.max_reply_sends_per_second = max(
                counters.max_reply_sends_per_second, in_second
            )
        elif kind is SendKind.BULK:
            counters.max_bulk_sends_per_second = max(counters.max_bulk_sends_per_second, in_second)

    def count_refusal(self, refusal: Refusal) -> None:
        """A 429 of the flood limits, under each limit it ran out of (``rejected_429_<limit>``)."""
        for limit in refusal.limits:
            name = f"rejected_429_{limit.value}"
            setattr(self.counters, name, getattr(self.counters, name) + 1)

    # --- what counts as a reply -------------------------------------------------------------

    def begin_handling(self, chat_id: int, now: float) -> None:
        """An update from ``chat_id`` is being delivered to the webhook."""
        self.chats_being_handled[chat_id] += 1
        self.update_handed_at[chat_id] = now

    def end_handling(self, chat_id: int, now: float) -> None:
        """That delivery is over, whatever its outcome; the reply window runs from here."""
        self.chats_being_handled[chat_id] -= 1
        if self.chats_being_handled[chat_id] <= 0:
            del self.chats_being_handled[chat_id]
        self.update_handed_at[chat_id] = now

    def handed_over(self, chat_id: int, now: float) -> None:
        """An update from ``chat_id`` was returned by ``getUpdates``."""
        self.update_handed_at[chat_id] = now

    def send_kind(self, chat_id: int, now: float, window_s: float, *, paid: bool) -> SendKind:
        if paid:
            return SendKind.PAID
        if chat_id in self.chats_being_handled:
            return SendKind.REPLY
        handed_at = self.update_handed_at.get(chat_id)
        if handed_at is not None and now - handed_at <= window_s:
            return SendKind.REPLY
        return SendKind.BULK

    def in_flight_count(self) -> int:
        return sum(1 for update in self.pending.values() if update.in_flight)

    def is_idle(self) -> bool:
        return not self.pending

    def counters_view(self) -> dict[str, int]:
        view = dict(vars(self.counters))
        view["pending"] = len(self.pending)
        view["in_flight"] = self.in_flight_count()
        view["held"] = self.faults.held
        return view


def _count_in_last_second(times: deque[float], now: float) -> int:
    times.append(now)
    while now - times[0] >= 1.0:
        times.popleft()
    return len(times)
