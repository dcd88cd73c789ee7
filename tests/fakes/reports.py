"""The report adapters of the handler tests: the production renderers (pure code, like the
calendar's) and a queue that keeps the export jobs handed to it for the test to run."""

from __future__ import annotations

from bot.infra.charts import MatplotlibChartRenderer
from bot.services.ports.reports import ReportAdapters


def report_adapters() -> ReportAdapters:
    return ReportAdapters(charts=MatplotlibChartRenderer())
