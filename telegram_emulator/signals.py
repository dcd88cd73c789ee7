"""Wake-ups for long polls (getUpdates, chat watchers, idle waits) without busy loops."""

from __future__ import annotations

import asyncio
import contextlib


class ChangeSignal:
    """Every waiter sleeping on the current generation wakes at the next `notify()`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, max_seconds: float) -> None:
        event = self._event
        if max_seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max_seconds)
