"""The statistics of one filter as CSV and XLSX: the same cells as the page (the caveat, the
legend and the × of every withheld cell included), one row per cell, as
``(table, item, label, value)`` with stable codes for tables and items. Text cells are
neutralised against formulas (``app.audit.export.neutralise``)."""

from __future__ import annotations

import csv
import io

from flask_babel import lazy_gettext as _l

from app.audit.export import neutralise
from app.core.barchart import WITHHELD
from app.reports import sheets
from app.reports.publication import Report, TableView

Value = int | str
HEADER = ("table", "item", "label", "value")


def _value(value: int | None) -> Value:
    return WITHHELD if value is None else value


def _table_rows(t: TableView) -> list[tuple[str, str, str, Value]]:
    out: list[tuple[str, str, str, Value]] = [(t.code, "title", t.title, "")]
    for row in t.rows:
        out.append((t.code, row.code, row.label, _value(row.value)))
    for total, cells in t.matrix:
        for cell in cells:
            out.append((t.code, f"{total.code}/{cell.code}", f"{total.label} · {cell.label}",
                        _value(cell.value)))
        out.append((t.code, f"{total.code}/*", f"{total.label} · {_l('Total')}",
                    _value(total.value)))
    for column in t.columns:
        out.append((t.code, f"*/{column.code}", f"{_l('Total')} · {column.label}",
                    _value(column.value)))
    out.append((t.code, "total", str(_l("Total")), _value(t.total)))
    if t.note:
        out.append((t.code, "note", t.note, ""))
    return out


def rows(report: Report, site_name: str) -> list[tuple[str, str, str, Value]]:
    """Every row of the export, notes and filter first."""
    f = report.filter
    out: list[tuple[str, str, str, Value]] = [
        ("notes", "caveat", report.caveat, ""),
        ("notes", "legend", report.legend, ""),
        ("filter", "period", str(_l("Period")), f.period.node),
        ("filter", "site", str(_l("Site")), site_name),
        ("filter", "min_count", str(_l("Smallest count published")), report.k),
    ]
    if report.counted_at is not None:
        out.append(("filter", "counted_at", str(_l("Counted at (UTC)")),
                    report.counted_at.strftime("%Y-%m-%d %H:%M")))
    if report.by_month:
        out.append(("gbv_by_month", "title", str(_l("GBV incidents by month of report")), ""))
        out += [("gbv_by_month", r.code, r.label, _value(r.value)) for r in report.by_month]
    for table in report.tables:
        out += _table_rows(table)
    out.append(("non_gbv", "total", str(_l("Incidents reported that were not GBV")),
                _value(report.non_gbv)))
    out += _table_rows(report.referrals)
    out += _table_rows(report.clinical)
    out.append(("clinical72", "share", str(_l("Share referred within 72 hours")),
                WITHHELD if report.share is None else f"{round(report.share * 100)}%"))
    return out


def to_csv(report: Report, site_name: str) -> str:
    """The CSV file (UTF-8 with a byte-order mark, so spreadsheets read Arabic)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([neutralise(cell) for cell in row] for row in rows(report, site_name))
    return "\ufeff" + buffer.getvalue()


def to_xlsx(report: Report, site_name: str, *, rtl: bool) -> bytes:
    """The XLSX file: one sheet, the same rows as the CSV (counts as numbers)."""
    return sheets.workbook([(str(_l("Statistics")), [HEADER, *rows(report, site_name)])],
                           rtl=rtl)
