"""The safe-space figures as others see them: one server-drawn SVG bar chart per table (plain
rectangles and text, mirrored for right-to-left) and a CSV file of the same cells.

A withheld cell is drawn as an outlined box of one fixed width marked ``×``, never as a bar
whose length could tell its value; in the CSV it is the same ``×``. Nothing is added up here:
every number shown is a cell that the protection published.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.audit.export import neutralise
from app.core.barchart import Frame, shown
from app.core.barchart import legend as legend_text
from app.core.bidi import isolate_numbers_if_rtl
from app.safe_space import rules
from app.safe_space.figures import Figures
from app.safe_space.labels import type_label

WIDTH, ROW, LABEL_W, VALUE_W, TOP, BOX_W = 440, 30, 150, 48, 28, 18

def caveat_text() -> str:
    """What the figures count (and what they do not)."""
    return str(_l("These figures count attendance at logged sessions, by the month of the "
                  "session and the site of the safe space: a participant who came to several "
                  "sessions is counted at each. They are not a count of distinct people."))


@dataclass(frozen=True)
class Bar:
    """One category's bar (or withheld box) and its texts."""

    label: str
    y: int
    x: float
    w: float
    cls: str
    label_x: float
    value_x: float
    value: int | None

    @property
    def withheld(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Chart:
    """An SVG bar chart (coordinates already mirrored for right-to-left)."""

    code: str
    title: str
    width: int
    height: int
    bars: list[Bar]
    label_anchor: str
    value_anchor: str
    legend: list[tuple[str, float, float, str]]  # css class, square x, text x, text


def bar_chart(code: str, title: str, items: Sequence[tuple[str, int | None, str]],
              legend: Sequence[tuple[str, str]], *, rtl: bool) -> Chart:
    """Bars for ``items`` (label, published value or ``None``, css class); withheld ones as
    outlined boxes of width ``BOX_W``. The scale is the largest published value."""
    frame = Frame(WIDTH, LABEL_W, VALUE_W, rtl)
    scale = frame.scale(v for _label, v, _cls in items)
    x = frame.x
    bars = []
    for i, (label, value, cls) in enumerate(items):
        w = float(BOX_W) if value is None else round(value * scale, 1)
        bars.append(Bar(label=label, y=TOP + i * ROW, x=x(LABEL_W, w), w=w,
                        cls="chart-withheld" if value is None else cls,
                        label_x=x(LABEL_W - 8), value_x=x(LABEL_W + w + 6), value=value))
    keys = [*legend, ("chart-withheld", str(_l("× withheld")))]
    marks = [(cls, x(8 + 140 * i, 12), x(26 + 140 * i), text) for i, (cls, text) in enumerate(keys)]
    return Chart(code=code, title=title, width=WIDTH, height=TOP + len(items) * ROW + 4,
                 bars=bars, label_anchor=frame.label_anchor, value_anchor=frame.value_anchor,
                 legend=marks)


def charts(figures: Figures, *, rtl: bool) -> list[Chart]:
    """The attendance chart (one bar per age-band cell) and the sessions chart (per type)."""
    cells = [(isolate_numbers_if_rtl(rules.CELL_LABELS[cell]), value,
              "chart-girls" if cell.startswith("girls") else "chart-women")
             for cell, value in figures.cells()]
    attendance = bar_chart(
        "attendance", str(_l("Attendance by age band, girls and women")), cells,
        [("chart-girls", str(_l("Girls (under 18)"))),
         ("chart-women", str(_l("Women (18 and over)")))], rtl=rtl)
    types = [(type_label(row.activity_type), row.sessions, "chart-sessions")
             for row in figures.types]
    sessions = bar_chart("sessions", str(_l("Sessions by activity")), types,
                         [("chart-sessions", str(_l("Sessions")))], rtl=rtl)
    return [attendance, sessions]


def csv_rows(figures: Figures, *, period: str, site_label: str) -> list[tuple[str, str, str, str]]:
    """(section, item, label, value) rows: the filter, the notes, then every published or
    withheld cell of both tables; items are stable codes."""
    rows: list[tuple[str, str, str, str]] = [
        ("filter", "period", str(_l("Period")), period),
        ("filter", "site", str(_l("Site")), site_label),
        ("note", "withheld", str(_l("Withheld cells")), legend_text(figures.k)),
        ("note", "caveat", str(_l("What is counted")), caveat_text()),
    ]
    for cell, value in figures.cells():
        rows.append(("attendance_by_age_band", cell, str(rules.CELL_LABELS[cell]), shown(value)))
    rows += [("attendance_by_age_band", "girls", str(_l("Girls (under 18)")), shown(figures.girls)),
             ("attendance_by_age_band", "women", str(_l("Women (18 and over)")),
              shown(figures.women)),
             ("attendance_by_age_band", "total", str(_l("Attendance")), shown(figures.attendance))]
    for row in figures.types:
        rows.append(("sessions_by_activity_type", row.activity_type.code,
                     type_label(row.activity_type), shown(row.sessions)))
    rows.append(("sessions_by_activity_type", "total", str(_l("Sessions")),
                 shown(figures.sessions)))
    return rows


def to_csv(figures: Figures, *, period: str, site_label: str) -> str:
    """The CSV file (UTF-8 with a byte-order mark), formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(("section", "item", "label", "value"))
    writer.writerows([neutralise(cell) for cell in row]
                     for row in csv_rows(figures, period=period, site_label=site_label))
    return "\ufeff" + buffer.getvalue()
