"""One Bot API call answered inside the webhook response instead of as a request of its own.

Telegram runs a method returned in the body of the webhook answer (``{"method": ..., params}``),
without telling its result. So only a call whose result nobody reads may go that way:
``answerCallbackQuery`` (its result is ``True``), which every button press makes. That saves one
HTTPS request to the Bot API per press. The web tier opens a slot for the update it processes
(:func:`webhook_reply_slot`); the bot's request path puts the first such call in it and answers
``True`` itself (:mod:`bot.infra.telegram.request`); the endpoint returns what the slot holds
with its 200. An update answered 503 drops its slot: Telegram delivers the update again, and the
handler answers again. Outside a webhook update (workers, tests feeding PTB directly) no slot is
open and every call is a request.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

DEFERRABLE_METHODS = frozenset({"answerCallbackQuery"})
DEFERRED_RESULT = b'{"ok":true,"result":true}'


@dataclass
class WebhookReply:
    """At most one call for the webhook response of the update being processed."""

    method: str | None = None
    parameters: dict[str, Any] | None = None

    def take(self, method: str, parameters: dict[str, Any]) -> bool:
        """Keep the call for the response; False when it must be sent (not deferrable, or the
        slot holds one already: a second answer goes as a request, in the order made)."""
        if method not in DEFERRABLE_METHODS or self.method is not None:
            return False
        self.method, self.parameters = method, dict(parameters)
        return True

    def body(self) -> dict[str, Any] | None:
        if self.method is None:
            return None
        return {"method": self.method, **(self.parameters or {})}


_slot: contextvars.ContextVar[WebhookReply | None] = contextvars.ContextVar(
    "fok_webhook_reply", default=None
)


@contextmanager
def webhook_reply_slot() -> Iterator[WebhookReply]:
    reply = WebhookReply()
    token = _slot.set(reply)
    try:
        yield reply
    finally:
        _slot.reset(token)


def open_webhook_reply() -> WebhookReply | None:
    return _slot.get()
