"""The programme manager's home panel: the indicators of ``app.reports.indicators`` with two
twelve-month trend charts drawn on the server (cases opened and closed; safe-space
attendance), each with its table for screen readers.

A chart is plain SVG like the statistics charts (``app.core.barchart``): months run left to
right, right to left on an Arabic page (the frame mirrors every x); a withheld month is an
outlined column of one fixed height marked ×, so its size tells nothing. Only readers of the
organisation's programme figures (``Permission.PROGRAMME_READ``: the all-sites figures) get
the panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.auth.policy import Permission, can
from app.core import hooks
from app.core.barchart import Frame, legend
from app.core.home import Panel
from app.i18n import RTL_LANGUAGES, select_locale
from app.reports import indicators
from app.reports.publication import CAVEAT

WIDTH, LEFT, RIGHT, TOP, PLOT_H, BOTTOM = 560, 36, 8, 16, 120, 24
WITHHELD_H = 14   # the fixed height of a withheld month's outline


@dataclass(frozen=True)
class Column:
    series: str          # the CSS class of its fill
    label: str
    month: str
    x: float
    y: float
    width: float
    height: float
    withheld: bool
    value: int | None


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class Trend:
    code: str
    title: str
    width: int
    height: int
    columns: list[Column]
    ticks: list[Tick]
    keys: list[tuple[str, str]]     # (css class, label) of each series
    baseline: float


def trend_chart(code: str, title: str, months: Sequence[indicators.Month],
                series: Sequence[tuple[str, str, Sequence[int | None]]], *, rtl: bool) -> Trend:
    """Columns per month for each series ``(css class, label, values)``; mirrored for
    right-to-left pages."""
    frame = Frame(WIDTH, LEFT, RIGHT, rtl)
    slot = frame.bar_w / len(months)
    each = slot * 0.8 / len(series)
    biggest = max((v for _c, _l, values in series for v in values if v is not None), default=0)
    scale = PLOT_H / biggest if biggest else 0.0
    base = TOP + PLOT_H
    columns, ticks = [], []
    for i, month in enumerate(months):
        start = LEFT + i * slot + slot * 0.1
        ticks.append(Tick(frame.x(LEFT + i * slot + slot / 2), format_date(month.day, "MMM")))
        for j, (css, label, values) in enumerate(series):
            value = values[i]
            height = float(WITHHELD_H) if value is None else round(value * scale, 1)
            columns.append(Column(series=css, label=label, month=month.leaf,
                                  x=frame.x(start + j * each, each), y=round(base - height, 1),
                                  width=round(each, 1), height=height, withheld=value is None,
                                  value=value))
    return Trend(code=code, title=title, width=WIDTH, height=base + BOTTOM, columns=columns,
                 ticks=ticks, keys=[(css, label) for css, label, _v in series], baseline=base)


def build(found: indicators.Indicators, *, rtl: bool) -> dict[str, Any]:
    """The panel's names: the indicators, their charts, the legend and the caveat."""
    months = found.months
    cases = trend_chart("cases", str(_l("Cases opened and closed per month")), months, (
        ("chart-bar", str(_l("Opened")), [m.opened for m in months]),
        ("chart-women", str(_l("Closed")), [m.closed for m in months])), rtl=rtl)
    spaces = None
    if any(m.has_spaces for m in months):
        spaces = trend_chart("attendance", str(_l("Safe-space attendance per month")), months, (
            ("chart-sessions", str(_l("Attendances")), [m.attendance for m in months]),),
            rtl=rtl)
    labels = {m.leaf: format_date(m.day, "MMMM y") for m in months}
    return {"ind": found, "cases_chart": cases, "spaces_chart": spaces, "month_labels": labels,
            "legend": legend(found.k), "caveat": str(CAVEAT)}


@hooks.home_panels.subscribe
def indicators_panel(user: User) -> list[Panel]:
    """The indicators, for readers of the organisation's programme figures."""
    if not can(user, Permission.PROGRAMME_READ) or user.organisation_id is None:
        return []
    found = indicators.compute(user.organisation_id)
    context = build(found, rtl=select_locale() in RTL_LANGUAGES)
    return [Panel("indicators", _l("Indicators: the last twelve months"),
                  "reports/home_indicators.html", context, order=50)]
