"""The monthly summary as others see it: a chart drawn on the server (an SVG of plain
rectangles and text, so the strict CSP needs no exception and no script runs) and a CSV export
safe to open in a spreadsheet (formula cells neutralised, as the audit export does).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.audit.export import neutralise
from app.safe_space import rules
from app.safe_space.labels import type_label
from app.safe_space.queries import Summary

WIDTH, ROW, LABEL_W, VALUE_W, TOP = 400, 34, 96, 40, 30
BAR_W = WIDTH - LABEL_W - VALUE_W


@dataclass(frozen=True)
class Bar:
    """One age band's stacked bar: girls then women, and the band total beside it."""

    label: str
    y: int
    girls_x: float
    girls_w: float
    women_x: float
    women_w: float
    label_x: float
    value_x: float
    total: int


@dataclass(frozen=True)
class Chart:
    """An SVG bar chart of attendance by age band (coordinates mirrored for right-to-left)."""

    width: int
    height: int
    bars: list[Bar]
    label_anchor: str
    value_anchor: str
    legend: list[tuple[str, float, float, str]]  # css class, square x, text x, text


def band_chart(summary: Summary, *, rtl: bool) -> Chart | None:
    """The attendance-by-age-band chart, or ``None`` when nobody attended in the month."""
    rows = summary.band_rows()
    biggest = max(total for *_cells, total in rows)
    if biggest == 0:
        return None
    scale = BAR_W / biggest

    def x(pos: float, width: float = 0) -> float:  # LTR position -> actual position
        return round(WIDTH - pos - width if rtl else pos, 1)

    bars = []
    for i, (band, girls, women, total) in enumerate(rows):
        gw, ww = round((girls or 0) * scale, 1), round((women or 0) * scale, 1)
        bars.append(Bar(label=str(band.label), y=TOP + i * ROW,
                        girls_x=x(LABEL_W, gw), girls_w=gw,
                        women_x=x(LABEL_W + gw, ww), women_w=ww,
                        label_x=x(LABEL_W - 8), value_x=x(LABEL_W + gw + ww + 6), total=total))
    legend = [("chart-girls", x(8, 12), x(26), str(_l("Girls (under 18)"))),
              ("chart-women", x(190, 12), x(208), str(_l("Women (18 and over)")))]
    return Chart(width=WIDTH, height=TOP + len(rows) * ROW, bars=bars,
                 label_anchor="start" if rtl else "end", value_anchor="end" if rtl else "start",
                 legend=legend)


def csv_rows(summary: Summary) -> list[tuple[str, str, str, str]]:
    """The summary as (section, item, label, value) rows; items are stable codes."""
    t = summary.totals
    rows: list[tuple[str, str, str, str]] = [
        ("safe_space", "name", str(_l("Safe space")), summary.space.name),
        ("period", "month", str(_l("Month")), summary.month.strftime("%Y-%m")),
        ("totals", "sessions", str(_l("Sessions")), str(summary.sessions)),
        ("totals", "attendance", str(_l("Attendance")), str(summary.attendance)),
    ]
    for name, label in (
            ("new_participants", _l("New participants")),
            ("returning_participants", _l("Returning participants")),
            ("with_disabilities", _l("Participants with disabilities")),
            ("case_management_requests", _l("Requests for case management")),
            ("referrals_made", _l("Referrals made")),
            ("duration_minutes", _l("Duration (minutes)"))):
        rows.append(("totals", name, str(label), str(t.get(name, 0))))
    for band, girls, women, total in summary.band_rows():
        for cell, count in ((band.girls, girls), (band.women, women)):
            if cell:
                rows.append(("attendance_by_age_band", cell, str(rules.CELL_LABELS[cell]),
                             str(count)))
        rows.append(("attendance_by_age_band", f"total_{band.code}",
                     str(_l("All %(band)s", band=band.label)), str(total)))
    for row in summary.by_type:
        rows.append(("sessions_by_activity_type", row.activity_type.code,
                     type_label(row.activity_type), str(row.sessions)))
        rows.append(("attendance_by_activity_type", row.activity_type.code,
                     type_label(row.activity_type), str(row.attendance)))
    return rows


def to_csv(summary: Summary) -> str:
    """The CSV file: a header line, then every row with formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(("section", "item", "label", "value"))
    writer.writerows([neutralise(cell) for cell in row] for row in csv_rows(summary))
    return "\ufeff" + buffer.getvalue()

