"""Spreadsheets made in memory (XLSX, by XlsxWriter) that are safe to open: every text cell is
neutralised against formulas (``app.audit.export.neutralise``) and written with
``write_string``, so nothing typed or derived can become a formula; numbers are numbers.
Shared by the statistics exports and the Incident Recorder export."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import xlsxwriter

from app.audit.export import neutralise

Cell = str | int | float | date | datetime | None
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def sheet_name(text: str, used: set[str]) -> str:
    """A valid, unique worksheet name (at most 31 characters, none of ``[]:*?/\\``)."""
    base = SHEET_NAME_BAD.sub(" ", text).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def workbook(sheets: Iterable[tuple[str, Sequence[Sequence[Cell]]]], *,
             rtl: bool = False) -> bytes:
    """An XLSX file of ``(sheet name, rows)``: text neutralised and written as strings,
    integers and floats as numbers, dates as ISO text; ``rtl`` lays sheets right to left."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    used: set[str] = set()
    for title, rows in sheets:
        sheet = book.add_worksheet(sheet_name(title, used))
        if rtl:
            sheet.right_to_left()
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, bool) or value is None:
                    sheet.write_string(r, c, neutralise(value))
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                else:
                    text = value.isoformat() if isinstance(value, date | datetime) else value
                    sheet.write_string(r, c, neutralise(text))
    book.close()
    return buffer.getvalue()
