"""Spreadsheets for download (openpyxl): one sheet, a bold header row, dates as dates, column widths
that fit Chinese text; and the same as CSV (UTF-8 with a byte-order mark, which Excel needs to read
Chinese). Text that a spreadsheet would run as a formula is written as text in both."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import datetime
from io import BytesIO, StringIO
from typing import Any

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from engine import config
from engine.clock import aware


def _local(value: datetime) -> datetime:
    """A stored time (UTC; SQLite's come naive) in the organisation's zone, without it: a
    spreadsheet keeps no zone."""
    return aware(value).astimezone(config.current().timezone).replace(tzinfo=None)  # type: ignore[union-attr]


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return _local(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters a stored note may hold; XLSX cannot
    return value


def workbook(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """Written in openpyxl's write-only mode (a streamed sheet: 10,000 rows in well under a second;
    the ordinary mode's row look-ups grow with the sheet). Widths come from a first pass."""
    values = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) * 2 + 2 for h in headers]
    for row in values:
        for i, v in enumerate(row):
            widths[i] = min(60, max(widths[i], len(str(v or "")) * 2 + 2))
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for i, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(i + 1)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for h in headers:
        cell = WriteOnlyCell(sheet, value=_cell(h))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in values:
        sheet.append([_as_text(sheet, v) if isinstance(v, str) and v.startswith("=") else v for v in row])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _as_text(sheet: Any, value: str) -> Any:
    """Text that looks like a formula stays text (no injection)."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # read as text, not run as a formula (CSV injection)
    return value


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(kind: str, title: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], total: int) -> Response:
    """A table as an XLSX or CSV download; X-Total-Count says how many rows matched (the file may
    hold the first of them), when that was counted (not past instance_search.TOTAL_CAP)."""
    if kind == "xlsx":
        response = Response(workbook(title, headers, rows), mimetype=XLSX)
    else:
        response = Response(csv_bytes(headers, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}.{kind}"
    if getattr(total, "exact", True):
        response.headers["X-Total-Count"] = str(total)
    return response
