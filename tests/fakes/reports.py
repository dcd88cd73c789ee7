"""The report adapters of the handler tests: the production renderers (pure code, like the
calendar's) and a queue that keeps the export jobs handed to it for the test to run."""

from __future__ import annotations

from dataclasses import dataclass

from bot.infra.charts import MatplotlibChartRenderer
from bot.infra.excel import OpenpyxlWorkbookRenderer
from bot.services.ports.reports import ReportAdapters
from tests.fakes.exports import InMemoryExportJobRepository, RecordingExportQueue


@dataclass(frozen=True)
class FakeReportAdapters(ReportAdapters):
    jobs: InMemoryExportJobRepository
    queue: RecordingExportQueue


def report_adapters() -> FakeReportAdapters:
    return FakeReportAdapters(
        charts=MatplotlibChartRenderer(),
        workbooks=OpenpyxlWorkbookRenderer(),
        jobs=InMemoryExportJobRepository(),
        queue=RecordingExportQueue(),
    )
