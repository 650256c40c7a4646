"""Spreadsheets for download (openpyxl): one sheet, a bold header row, dates as dates, column widths
that fit Chinese text. Text that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # spreadsheets keep no zone: the caller gives local time
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters a stored note may hold; XLSX cannot
    return value


def workbook(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(h) * 2 + 2 for h in headers]
    for row in rows:
        values = [_cell(v) for v in row]
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # text that looks like a formula stays text (no injection)
                cell.data_type = "s"
        for i, v in enumerate(values):
            widths[i] = min(60, max(widths[i], len(str(v or "")) * 2 + 2))
    for i, width in enumerate(widths):
        sheet.column_dimensions[sheet.cell(row=1, column=i + 1).column_letter].width = width
    sheet.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    return out.getvalue()
