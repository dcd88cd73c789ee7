"""Ports of the reports: the chart and workbook renderers, export jobs, their queue and sender.

The services say *what* a chart or a workbook shows (already worded: the labels come from the
Telegram layer's texts in the requester's language); the adapters in ``bot.infra`` draw it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

# Words the Telegram layer supplies for a chart or a workbook, by stable keys (see the services).
Labels = Mapping[str, str]

# --- charts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class BarPanel:
    """Horizontal bars: one row per category, one bar per series (side by side)."""

    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    percent: bool = False  # values are shares (0..1), drawn as percentages


@dataclass(frozen=True)
class ChartSpec:
    title: str
    panels: tuple[BarPanel, ...]
    empty_text: str  # what a panel without categories says


class ChartRenderer(Protocol):
    async def render_png(self, chart: ChartSpec) -> bytes:
        """The chart as a PNG image, drawn off the event loop."""
        ...


# --- workbooks -------------------------------------------------------------------------------

Cell = str | int | float | datetime | None  # datetimes are local wall-clock time (no zone)


@dataclass(frozen=True)
class Sheet:
    name: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]


@dataclass(frozen=True)
class WorkbookSpec:
    sheets: tuple[Sheet, ...]


class WorkbookRenderer(Protocol):
    async def render_xlsx(self, workbook: WorkbookSpec) -> bytes:
        """The workbook as an .xlsx file, written off the event loop."""
        ...


# --- export jobs -----------------------------------------------------------------------------


class ExportKind(StrEnum):
    APPLICATIONS = "applications"  # «Заявки» and «История»
    BOOKINGS = "bookings"  # «Записи» and «Посещаемость»


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"  # claimed by a worker until ``claimed_until``
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class ExportJob:
    """A large export a worker builds and sends: who asked, what, where to send it."""

    id: str
    actor_id: int
    chat_id: int
    kind: ExportKind
    first_day: str  # ISO dates of the period (both included)
    last_day: str
    complex_code: str | None  # None: every complex the requester may see
    language: str
    labels: Mapping[str, str]
    rows: int  # how many rows it was expected to have when asked for
    created_at: datetime
    status: ExportStatus = ExportStatus.QUEUED
    attempts: int = 0
    claimed_until: datetime | None = None
    progress_message_id: int | None = None
    error: str | None = None
    finished_at: datetime | None = None


class ExportJobRepository(Protocol):
    async def insert(self, job: ExportJob) -> None: ...

    async def get(self, job_id: str) -> ExportJob | None: ...

    async def claim(self, job_id: str, now: datetime, until: datetime) -> ExportJob | None:
        """Take the job if it is queued or its claim lapsed (a worker died); the job as claimed
        (``attempts`` counted), or None if it is done, failed or claimed by another."""
        ...

    async def set_progress_message(self, job_id: str, message_id: int) -> None: ...

    async def finish(
        self, job_id: str, status: ExportStatus, now: datetime, error: str | None = None
    ) -> None: ...


class ExportQueue(Protocol):
    async def enqueue(self, job_id: str) -> None:
        """Hand the job to the workers (queue ``reports``); raises if it cannot be handed over."""
        ...


class ExportSender(Protocol):
    """What a worker shows the requester while it builds (the Telegram layer words it)."""

    async def progress(self, job: ExportJob, done: int, total: int) -> int | None:
        """Show (or update) the progress message; its message id (None: it could not be shown)."""
        ...

    async def deliver(self, job: ExportJob, filename: str, content: bytes, rows: int) -> None:
        """Send the file as a document and mark the progress message done."""
        ...

    async def failed(self, job: ExportJob) -> None:
        """Tell the requester the export could not be built."""
        ...


@dataclass(frozen=True)
class ReportAdapters:
    """What the report services draw with and where large exports go
    (``build_services(..., reports=...)``)."""

    charts: ChartRenderer
    workbooks: WorkbookRenderer
    jobs: ExportJobRepository
    queue: ExportQueue
