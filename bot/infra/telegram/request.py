"""The outbound Bot API request path shared by every bot instance and Celery worker.

:class:`LimitedRequest` is python-telegram-bot's ``HTTPXRequest`` with the cluster rules around it
(design §4 rule 5):

* before a *sending* method (``sendMessage``, ``sendDocument``, ``copyMessage``, ...) it waits for
  the cluster-wide :class:`OutboundLimiter` for the target chat, and after it tells the limiter
  how long the answer took (``answered``: a late one spaces the chat's next send from it);
* a 429 pauses the whole cluster for ``retry_after`` (``pause_all``) and is **not** retried here:
  PTB raises ``RetryAfter`` as usual. A webhook request must not hang for tens of seconds, and a
  Celery task already has a retry policy that can honour ``retry_after``; with the limiter in front
  a 429 is an anomaly worth surfacing, not hiding;
* a 403 ("bot was blocked by the user", "user is deactivated", "bot was kicked", ...) on a method
  aimed at a chat calls the injected ``on_unreachable(chat_id)`` so the user is marked unreachable
  in MongoDB (the source of truth) instead of being retried; PTB still raises ``Forbidden``;
* every call is reported to a :class:`TelegramCallObserver` (method and outcome are bounded labels;
  the URL, which contains the bot token, is never logged or reported).

When the limiter cannot let a send go within its bound, the send fails with PTB's ``RetryAfter``
(the would-be wait, rounded up) without reaching Telegram, so callers handle "later" one way.

The HTTP connection pool defaults to 8: design §7 measured a pool of 4-16 doubling throughput over
PTB's single connection, while 64 was as slow as one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from telegram.error import NetworkError, RetryAfter
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.infra.telegram.webhook_reply import DEFERRED_RESULT, open_webhook_reply
from bot.services.ports.ephemeral import (
    NoopTelegramCallObserver,
    OutboundLimiter,
    OutboundWaitTooLong,
    TelegramCallObserver,
    TelegramCallOutcome,
    UnreachableChatCallback,
)

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput  # PTB's own annotation of do_request's timeouts

log = logging.getLogger(__name__)

DEFAULT_CONNECTION_POOL_SIZE = 8

# Methods that put a new message into a chat: these count toward Telegram's per-chat, per-group and
# global send limits. Edits, callback answers and chat actions do not.
SENDING_METHODS: frozenset[str] = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendPaidMedia",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendSticker",
        "sendInvoice",
        "forwardMessage",
        "forwardMessages",
        "copyMessage",
        "copyMessages",
    }
)


def is_group_chat(chat_id: int | str) -> bool:
    """Groups, supergroups and channels have negative ids; ``@username`` targets are public ones."""
    return isinstance(chat_id, str) or chat_id < 0


def classify(status_code: int) -> TelegramCallOutcome:
    if 200 <= status_code < 300:
        return TelegramCallOutcome.OK
    if status_code == 429:
        return TelegramCallOutcome.RATE_LIMITED
    if status_code == 403:
        return TelegramCallOutcome.FORBIDDEN
    if 400 <= status_code < 500:
        return TelegramCallOutcome.CLIENT_ERROR
    return TelegramCallOutcome.SERVER_ERROR


def target_chat(request_data: RequestData | None) -> int | str | None:
    """The ``chat_id`` a call is aimed at (for copy/forward: the destination), if any."""
    if request_data is None:
        return None
    chat_id = request_data.parameters.get("chat_id")
    if isinstance(chat_id, bool):
        return None
    if isinstance(chat_id, int):
        return chat_id
    if isinstance(chat_id, str):
        return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
    return None


def retry_after_s(payload: bytes) -> float | None:
    """``parameters.retry_after`` of a Bot API error body, if it has one."""
    try:
        body: Any = json.loads(payload)
        value = body["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


class LimitedRequest(HTTPXRequest):
    def __init__(
        self,
        *,
        limiter: OutboundLimiter | None,
        on_unreachable: UnreachableChatCallback | None = None,
        observer: TelegramCallObserver | None = None,
        limited_methods: Collection[str] = SENDING_METHODS,
        connection_pool_size: int = DEFAULT_CONNECTION_POOL_SIZE,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("the HTTP connection pool needs at least one connection")
        super().__init__(
            connection_pool_size=connection_pool_size,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            media_write_timeout=media_write_timeout,
        )
        self._limiter = limiter
        self._on_unreachable = on_unreachable
        self._observer: TelegramCallObserver = observer or NoopTelegramCallObserver()
        self._limited_methods = frozenset(limited_methods)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        reply = open_webhook_reply()
        if (
            reply is not None
            and request_data is not None
            and reply.take(api_method, request_data.parameters)
        ):
            self._observer.on_call(api_method, TelegramCallOutcome.IN_RESPONSE, 0.0)
            return 200, DEFERRED_RESULT
        chat_id = target_chat(request_data)
        limited = api_method in self._limited_methods
        limiter = self._limiter if limited and chat_id is not None else None
        if limiter is not None and chat_id is not None:
            await self._wait_for_budget(api_method, chat_id, limiter)

        started = time.monotonic()
        try:
            status_code, payload = await super().do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except NetworkError:  # TimedOut included: the request may have arrived all the same
            self._observer.on_call(api_method, TelegramCallOutcome.NETWORK, _since(started))
            if limiter is not None and chat_id is not None:
                await _report_answered(limiter, api_method, chat_id, _since(started))
            raise
        outcome = classify(status_code)
        self._observer.on_call(api_method, outcome, _since(started))
        if limiter is not None and chat_id is not None:
            await _report_answered(limiter, api_method, chat_id, _since(started))

        if outcome is TelegramCallOutcome.RATE_LIMITED and self._limiter is not None:
            pause_s = retry_after_s(payload)
            if pause_s is not None:
                log.warning(
                    "Telegram answered 429; pausing every sender",
                    extra={"event": "telegram_429", "method": api_method, "retry_after": pause_s},
                )
                await self._limiter.pause_all(pause_s)
        elif outcome is TelegramCallOutcome.FORBIDDEN and chat_id is not None:
            await self._report_unreachable(api_method, chat_id)
        return status_code, payload

    async def _wait_for_budget(
        self, api_method: str, chat_id: int | str, limiter: OutboundLimiter
    ) -> None:
        try:
            waited_s = await limiter.acquire(chat_id, is_group=is_group_chat(chat_id))
        except OutboundWaitTooLong as too_long:
            raise RetryAfter(math.ceil(too_long.would_wait_s)) from too_long
        self._observer.on_limiter_wait(api_method, waited_s)

    async def _report_unreachable(self, api_method: str, chat_id: int | str) -> None:
        if self._on_unreachable is None:
            return
        try:
            await self._on_unreachable(chat_id)
        except Exception:
            # Marking is bookkeeping; the caller must still see Telegram's Forbidden.
            log.exception(
                "marking a chat unreachable failed",
                extra={"event": "mark_unreachable_failed", "method": api_method},
            )


async def _report_answered(
    limiter: OutboundLimiter, api_method: str, chat_id: int | str, after_s: float
) -> None:
    """Tell the limiter when a limited send was answered. The message has left by now: a failure
    here (Redis away) is logged, never raised, or the caller would retry a message already sent."""
    try:
        await limiter.answered(chat_id, is_group_chat(chat_id), after_s)
    except Exception:
        log.exception(
            "could not space the chat's next send after a late answer",
            extra={"event": "outbound_answered_failed", "method": api_method},
        )


def _since(started: float) -> float:
    return time.monotonic() - started
