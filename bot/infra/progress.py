"""Progress of the operator's long commands: a rich progress bar on a terminal, else nothing.

The bar is drawn on stderr (stdout stays the command's report, for scripts) and only when stderr is
a TTY: under cron, in a pipe or in a container log there is no bar and no control characters.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from bot.services.ports.backup import NO_PROGRESS
from bot.services.ports.backup import Progress as ProgressPort


class TerminalProgress:
    """``Progress`` port as one rich bar: ``begin`` shows it, ``advance`` moves it, ``end`` clears."""

    def __init__(self, stream: TextIO) -> None:
        self._console = Console(file=stream)
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def begin(self, description: str, total: int) -> None:
        self.end()
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("documents"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(description, total=max(total, 1))

    def advance(self, count: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, count)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar = self._task = None


def terminal_progress(stream: TextIO | None = None) -> ProgressPort:
    """A bar on ``stream`` (stderr by default) if it is a terminal, otherwise no progress."""
    out = stream if stream is not None else sys.stderr
    return TerminalProgress(out) if out.isatty() else NO_PROGRESS
