"""The monthly summary as others see it: a chart drawn on the server (an SVG of plain
rectangles and text, so the strict CSP needs no exception and no script runs) and a CSV export
safe to open in a spreadsheet (formula cells neutralised, as the audit export does).

What is shown (``Shown``) depends on the reader. A coordinator sees every figure of her own
safe space. A programme manager reads the organisation's protected figures (``figures``): a
space's month shows only what the figures page publishes for it, its site's cells when it is
the only safe space of its site that year, every other figure withheld (``None``, shown as
``×``); otherwise the summary would publish counts (or their parts) that the figures withhold.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.audit.export import neutralise
from app.core.barchart import Frame, legend
from app.core.barchart import shown as cell_text
from app.reports.grid import ROOT
from app.safe_space import figures, rules
from app.safe_space.labels import type_label
from app.safe_space.models import ActivityType
from app.safe_space.queries import Summary

WIDTH, ROW, LABEL_W, VALUE_W, TOP = 400, 34, 96, 40, 30
BOX_W = 18  # a withheld band: an outlined box of one width, whatever its value


@dataclass(frozen=True)
class BandShown:
    """An age band: girls, women and the band's total (``None``: withheld; a cell whose sex
    cannot occur in the band, ``band.girls`` or ``band.women`` ``None``, is not shown)."""

    band: rules.Band
    girls: int | None
    women: int | None
    total: int | None


@dataclass(frozen=True)
class TypeShown:
    """Sessions and attendance of one activity type (``None``: withheld)."""

    activity_type: ActivityType
    sessions: int | None
    attendance: int | None


@dataclass(frozen=True)
class Shown:
    """Every figure of the summary as this reader sees it (``None``: withheld)."""

    sessions: int | None
    attendance: int | None
    totals: dict[str, int | None]
    bands: list[BandShown]
    types: list[TypeShown]
    k: int | None = None          # set when figures are protected (the legend's k)
    shares_site: bool = False     # protected, and the space shares its site: nothing shown

    @property
    def protected(self) -> bool:
        return self.k is not None


TOTALS = rules.OTHER_COUNTS + ("duration_minutes",)


def everything(summary: Summary) -> Shown:
    """The coordinator's view of her own safe space: every figure."""
    bands = [BandShown(band, girls, women, total) for band, girls, women, total
             in summary.band_rows()]
    return Shown(sessions=summary.sessions, attendance=summary.attendance,
                 totals={n: summary.totals.get(n, 0) for n in TOTALS}, bands=bands,
                 types=[TypeShown(r.activity_type, r.sessions, r.attendance)
                        for r in summary.by_type])


def published(view: figures.SpaceView | None, k: int) -> Shown:
    """A programme manager's view: the cells the figures page publishes for the space's site
    and month, read one by one; figures that are not cells of the grid (new and returning
    participants, disabilities, requests, referrals, duration, attendance by activity, the
    15–19 band's total) are withheld, as is everything of a space that shares its site."""
    def p(*cats: str) -> int | None:
        if view is None or view.site is None or view.protection is None:
            return None
        return view.protection.value(figures.PARTICIPANTS, view.period, view.site, *cats)

    def s(*cats: str) -> int | None:
        if view is None or view.site is None or view.protection is None:
            return None
        return view.protection.value(figures.SESSIONS, view.period, view.site, *cats)

    bands = []
    for band in rules.BANDS:
        girls = p(band.girls) if band.girls else None
        women = p(band.women) if band.women else None
        only = band.girls if band.women is None else band.women if band.girls is None else None
        bands.append(BandShown(band, girls, women, p(only) if only else None))
    types = view.grid.types if view is not None else figures.activity_types()
    return Shown(sessions=s(ROOT), attendance=p(ROOT), totals=dict.fromkeys(TOTALS),
                 bands=bands, types=[TypeShown(t, s(t.code), None) for t in types], k=k,
                 shares_site=view is not None and view.site is None)


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
    total: int | None

    @property
    def withheld(self) -> bool:
        return self.total is None


@dataclass(frozen=True)
class Chart:
    """An SVG bar chart of attendance by age band (coordinates mirrored for right-to-left)."""

    width: int
    height: int
    bars: list[Bar]
    label_anchor: str
    value_anchor: str
    legend: list[tuple[str, float, float, str]]  # css class, square x, text x, text


def band_chart(shown: Shown, *, rtl: bool) -> Chart | None:
    """The attendance-by-age-band chart, or ``None`` when nobody attended in the month. A band
    whose total is withheld is an outlined box of one width, marked ``×``."""
    rows = shown.bands
    if all(r.total == 0 for r in rows):
        return None
    frame = Frame(WIDTH, LABEL_W, VALUE_W, rtl)
    scale = frame.scale(r.total for r in rows)
    x = frame.x
    bars = []
    for i, row in enumerate(rows):
        if row.total is None:
            gw, ww = float(BOX_W), 0.0
        else:
            gw, ww = round((row.girls or 0) * scale, 1), round((row.women or 0) * scale, 1)
        bars.append(Bar(label=str(row.band.label), y=TOP + i * ROW,
                        girls_x=x(LABEL_W, gw), girls_w=gw,
                        women_x=x(LABEL_W + gw, ww), women_w=ww,
                        label_x=x(LABEL_W - 8), value_x=x(LABEL_W + gw + ww + 6),
                        total=row.total))
    legend_keys = [("chart-girls", x(8, 12), x(26), str(_l("Girls (under 18)"))),
                   ("chart-women", x(190, 12), x(208), str(_l("Women (18 and over)")))]
    return Chart(width=WIDTH, height=TOP + len(rows) * ROW, bars=bars,
                 label_anchor=frame.label_anchor, value_anchor=frame.value_anchor,
                 legend=legend_keys)


def csv_rows(summary: Summary, shown: Shown) -> list[tuple[str, str, str, str]]:
    """The summary as (section, item, label, value) rows; items are stable codes."""
    t = shown.totals
    rows: list[tuple[str, str, str, str]] = [
        ("safe_space", "name", str(_l("Safe space")), summary.space.name),
        ("period", "month", str(_l("Month")), summary.month.strftime("%Y-%m")),
    ]
    if shown.k is not None:
        rows.append(("note", "withheld", str(_l("Withheld cells")), legend(shown.k)))
    rows += [
        ("totals", "sessions", str(_l("Sessions")), cell_text(shown.sessions)),
        ("totals", "attendance", str(_l("Attendance")), cell_text(shown.attendance)),
    ]
    for name, label in (
            ("new_participants", _l("New participants")),
            ("returning_participants", _l("Returning participants")),
            ("with_disabilities", _l("Participants with disabilities")),
            ("case_management_requests", _l("Requests for case management")),
            ("referrals_made", _l("Referrals made")),
            ("duration_minutes", _l("Duration (minutes)"))):
        rows.append(("totals", name, str(label), cell_text(t.get(name))))
    for row in shown.bands:
        for cell, count in ((row.band.girls, row.girls), (row.band.women, row.women)):
            if cell:
                rows.append(("attendance_by_age_band", cell, str(rules.CELL_LABELS[cell]),
                             cell_text(count)))
        rows.append(("attendance_by_age_band", f"total_{row.band.code}",
                     str(_l("All %(band)s", band=row.band.label)), cell_text(row.total)))
    for kind in shown.types:
        rows.append(("sessions_by_activity_type", kind.activity_type.code,
                     type_label(kind.activity_type), cell_text(kind.sessions)))
        rows.append(("attendance_by_activity_type", kind.activity_type.code,
                     type_label(kind.activity_type), cell_text(kind.attendance)))
    return rows


def to_csv(summary: Summary, shown: Shown) -> str:
    """The CSV file: a header line, then every row with formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(("section", "item", "label", "value"))
    writer.writerows([neutralise(cell) for cell in row] for row in csv_rows(summary, shown))
    return "\ufeff" + buffer.getvalue()
