"""Each statistics table as a horizontal bar chart drawn on the server (``app.core.barchart``:
plain SVG, mirrored for right-to-left pages). A withheld cell is an outlined, unfilled bar of
one fixed small width with the × mark, so its length tells nothing; the table beside it stays
the primary content (the chart's title names the table it repeats).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.barchart import Frame
from app.reports.publication import Row, TableView

WIDTH, ROW, LABEL_W, VALUE_W, TOP = 440, 28, 170, 48, 8
WITHHELD_W = 14   # the fixed width of a withheld cell's outline
LABEL_MAX = 26    # characters of a category label before it is shortened


@dataclass(frozen=True)
class Bar:
    label: str
    full_label: str
    y: int
    x: float
    width: float
    withheld: bool
    label_x: float
    value_x: float
    value: int | None


@dataclass(frozen=True)
class Chart:
    code: str
    title: str
    width: int
    height: int
    bars: list[Bar]
    label_anchor: str
    value_anchor: str


def _rows(table: TableView) -> list[Row]:
    """The bars: a one-dimensional table's rows, a two-dimensional table's row totals."""
    return table.rows if table.rows else [total for total, _cells in table.matrix]


def _short(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[:LABEL_MAX - 1].rstrip() + "…"


def bar_chart(table: TableView, *, rtl: bool) -> Chart | None:
    """The table's chart, or None when it has no rows to draw."""
    rows = _rows(table)
    if not rows:
        return None
    frame = Frame(WIDTH, LABEL_W, VALUE_W, rtl)
    scale = frame.scale(r.value for r in rows)
    bars = []
    for i, row in enumerate(rows):
        withheld = row.value is None
        width = float(WITHHELD_W) if withheld else round((row.value or 0) * scale, 1)
        bars.append(Bar(label=_short(row.label), full_label=row.label, y=TOP + i * ROW,
                        x=frame.x(LABEL_W, width), width=width, withheld=withheld,
                        label_x=frame.x(LABEL_W - 8), value_x=frame.x(LABEL_W + width + 6),
                        value=row.value))
    return Chart(code=table.code, title=table.title, width=WIDTH,
                 height=TOP * 2 + len(rows) * ROW, bars=bars,
                 label_anchor=frame.label_anchor, value_anchor=frame.value_anchor)
