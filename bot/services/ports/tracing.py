"""Port for following one item's delivery in the trace of what caused it (bot/infra/tracing.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol


class DeliveryTracing(Protocol):
    def delivering(
        self, what: str, kind: str, trace_context: str | None
    ) -> AbstractContextManager[None]:
        """Around the delivery of one item (``what``: notice or reminder, of ``kind``):
        continues ``trace_context``, the W3C traceparent stored with it, when there is one."""
        ...


class NoDeliveryTracing:
    def delivering(
        self, what: str, kind: str, trace_context: str | None
    ) -> AbstractContextManager[None]:
        return nullcontext()


NO_TRACING = NoDeliveryTracing()
