"""The WorkbookRenderer port over openpyxl: an .xlsx written off the event loop.

Write-only mode (rows are streamed, not kept as cell objects); a bold frozen header row; dates as
real Excel dates («ДД.ММ.ГГГГ ЧЧ:ММ»); column widths fitted to the content, at most 50
characters (as the original's weekly report did).
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from typing import TYPE_CHECKING

from bot.services.ports.reports import Cell, Sheet, WorkbookSpec

if TYPE_CHECKING:  # imported when a workbook is written: every process starts without it
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

MAX_WIDTH = 50
MIN_WIDTH = 8
DATE_FORMAT = "DD.MM.YYYY HH:MM"
SHEET_NAME_LENGTH = 31  # Excel's limit
_FORBIDDEN_IN_NAMES = str.maketrans({ch: " " for ch in "[]:*?/\\"})


def _width(value: Cell) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len(DATE_FORMAT)
    return max((len(line) for line in str(value).splitlines()), default=0)


def _cell(sheet: WriteOnlyWorksheet, value: Cell, bold: Font | None = None) -> WriteOnlyCell:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = DATE_FORMAT
    if bold is not None:
        cell.font = bold
    return cell


def _write(workbook: Workbook, spec: Sheet) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    sheet = workbook.create_sheet(spec.name.translate(_FORBIDDEN_IN_NAMES)[:SHEET_NAME_LENGTH])
    assert isinstance(sheet, WriteOnlyWorksheet)
    widths = [_width(header) for header in spec.headers]
    for row in spec.rows:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _width(value))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, width + 2)
        )
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([_cell(sheet, header, bold) for header in spec.headers])
    for row in spec.rows:
        sheet.append([_cell(sheet, value) for value in row])


def render_xlsx(spec: WorkbookSpec) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for sheet in spec.sheets:
        _write(workbook, sheet)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


class OpenpyxlWorkbookRenderer:
    async def render_xlsx(self, workbook: WorkbookSpec) -> bytes:
        return await asyncio.to_thread(render_xlsx, workbook)
