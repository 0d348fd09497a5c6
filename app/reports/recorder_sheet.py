"""The Incident Recorder export as files: an XLSX workbook written in memory, or CSV.

Every cell is text, neutralised against formulas (``app.audit.export.neutralise``) and written
with ``write_string``, so a spreadsheet never evaluates a cell, whatever it holds. Nothing
touches the disk (``in_memory``): no temporary file of the export is ever left behind.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import xlsxwriter

from app.audit.export import neutralise

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"
SHEET_NAME = "Incident Recorder"


def to_xlsx(lines: Sequence[Sequence[str]], *, rtl: bool = False) -> bytes:
    """One worksheet: the caveat line, the column codes, their labels, then one row each."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    try:
        sheet = book.add_worksheet(SHEET_NAME)
        if rtl:
            sheet.right_to_left()
        bold = book.add_format({"bold": True})
        for r, line in enumerate(lines):
            for c, value in enumerate(line):
                sheet.write_string(r, c, neutralise(value), bold if r in (1, 2) else None)
        sheet.freeze_panes(3, 1)
    finally:
        book.close()
    return out.getvalue()


def to_csv(lines: Sequence[Sequence[str]]) -> bytes:
    """The same lines as CSV (UTF-8 with a byte-order mark, so spreadsheets read Arabic)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerows([neutralise(v) for v in line] for line in lines)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
