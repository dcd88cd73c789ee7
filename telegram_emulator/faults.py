"""Injected failures of the Bot API, for tests of how a bot copes when Telegram misbehaves.

A test sets one fault per bot (client API ``POST /_emulator/bots/{bot}/fault``) and clears it
(``DELETE``). While it is set, the Bot API methods it names (all of them by default) answer with
its error — a 5xx, or a 429 with ``retry_after`` — without being executed, and without touching
the emulator's own flood limits or their ``rejected_*`` counters (``faults_injected`` counts them).

``hold`` makes matching requests wait, unanswered, until the fault is cleared: then they get the
fault's error, or, when the fault has no ``status``, are executed as usual. A held request whose
client went away meanwhile (a killed process) is dropped unexecuted (``faults_abandoned``), which
is how a test can stop a sender exactly while it waits for Telegram.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram_emulator.errors import ApiError, bad_request
from telegram_emulator.signals import ChangeSignal

# How often a held request checks whether its client is still there.
HOLD_CHECK_SECONDS = 0.05

_DESCRIPTIONS = {
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Fault:
    status: int | None = 502
    retry_after: int | None = None
    methods: frozenset[str] | None = None  # lower-cased method names; None: every method
    hold: bool = False
    description: str | None = None

    def __post_init__(self) -> None:
        if self.status is None and not self.hold:
            raise bad_request("a fault needs a status, or hold")
        if self.status is not None and not (self.status == 429 or 500 <= self.status <= 599):
            raise bad_request("a fault's status is 429 or 5xx")
        if self.status == 429 and (self.retry_after is None or self.retry_after < 1):
            raise bad_request("a 429 fault needs retry_after >= 1")

    def applies_to(self, method: str) -> bool:
        return self.methods is None or method.lower() in self.methods

    def error(self) -> ApiError:
        assert self.status is not None
        template = self.description or _DESCRIPTIONS.get(self.status, "Internal Server Error")
        retry_after = self.retry_after if self.status == 429 else None
        return ApiError(self.status, template.format(retry_after=retry_after), retry_after)

    def to_client(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "retry_after": self.retry_after,
            "methods": sorted(self.methods) if self.methods is not None else None,
            "hold": self.hold,
        }

    @classmethod
    def from_client(cls, data: dict[str, Any]) -> Fault:
        status = data.get("status", 502)
        retry_after = data.get("retry_after")
        methods = data.get("methods")
        if methods is not None and not (
            isinstance(methods, list) and all(isinstance(m, str) for m in methods)
        ):
            raise bad_request("methods must be a list of Bot API method names")
        try:
            return cls(
                status=None if status is None else int(status),
                retry_after=None if retry_after is None else int(retry_after),
                methods=frozenset(m.lower() for m in methods) if methods is not None else None,
                hold=bool(data.get("hold", False)),
                description=data.get("description"),
            )
        except (TypeError, ValueError):
            raise bad_request("status and retry_after must be integers") from None


class FaultInjector:
    """One bot's current fault and the requests it holds."""

    def __init__(self) -> None:
        self.fault: Fault | None = None
        self.held = 0
        self._changed = ChangeSignal()

    def set(self, fault: Fault | None) -> None:
        self.fault = fault
        self._changed.notify()

    def view(self) -> dict[str, Any]:
        return {
            "fault": self.fault.to_client() if self.fault is not None else None,
            "held": self.held,
        }

    async def intercept(
        self, method: str, disconnected: Callable[[], Awaitable[bool]], counters: Any
    ) -> bool:
        """Apply the fault to one request: raise its error, or return whether to execute it.

        False means "drop it": the client went away while the request was held.
        """
        fault = self.fault
        if fault is None or not fault.applies_to(method):
            return True
        if fault.hold:
            self.held += 1
            try:
                while self.fault is fault:
                    if await disconnected():
                        counters.faults_abandoned += 1
                        return False
                    await self._changed.wait(HOLD_CHECK_SECONDS)
            finally:
                self.held -= 1
            if await disconnected():
                counters.faults_abandoned += 1
                return False
        if fault.status is None:
            return True
        counters.faults_injected += 1
        raise fault.error()
