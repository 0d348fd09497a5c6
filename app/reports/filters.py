"""What a statistics request asks for: a period of the publication grid and a site (or all).

Only periods of the grid can be asked for: a month ``YYYY-MM``, a quarter ``YYYY-Qn`` or a year
``YYYY``. A custom range is refused (its cells are not in the grid, so nothing protects them
against differencing with the grid's own cells), as is a period that has not begun yet. Each
refusal says why; nothing is computed for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from app.reports import grid

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
YEAR = re.compile(r"^(\d{4})$")
RANGE = re.compile(r"(\.\.|/|\bto\b|,|–|—|~|\d{4}-\d{2}-\d{2})")
FIRST_YEAR = 2000


class FilterError(ValueError):
    """A filter that cannot be answered; the message says why (translated, no user data)."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = str(message)


@dataclass(frozen=True)
class Period:
    """A node of the grid's period dimension."""

    year: int
    node: str          # "2026-03", "2026-Q1" or "2026"
    kind: str          # "month", "quarter" or "year"
    months: tuple[str, ...]
    first_day: date


def parse_period(raw: str, today: date) -> Period:
    """The period ``raw`` names, or ``FilterError`` (unknown, a custom range, in the future)."""
    text = (raw or "").strip()
    if (m := MONTH.match(text)) and 1 <= int(m.group(2)) <= 12:
        year, first = int(m.group(1)), date(int(m.group(1)), int(m.group(2)), 1)
        kind = "month"
    elif m := QUARTER.match(text):
        year = int(m.group(1))
        first, kind = date(year, 3 * int(m.group(2)) - 2, 1), "quarter"
    elif m := YEAR.match(text):
        year, first, kind = int(m.group(1)), date(int(m.group(1)), 1, 1), "year"
    elif RANGE.search(text):
        raise FilterError(_l(
            "Statistics are published for a month, a quarter or a year only: a custom range "
            "could be compared with them to work out a withheld figure."))
    else:
        raise FilterError(_l("Choose a month, a quarter or a year."))
    if year < FIRST_YEAR:
        raise FilterError(_l("Choose a month, a quarter or a year."))
    if first > today:
        raise FilterError(_l("That period has not begun yet: choose one up to this month."))
    return Period(year=year, node=text, kind=kind,
                  months=grid.months(year, today.month if year == today.year else 12
                                     ).leaves_under(text), first_day=first)


def default_period(today: date) -> str:
    """The last complete month (the monthly report), as ``YYYY-MM``."""
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def period_choices(today: date, years: int = 3) -> list[tuple[str, str]]:
    """The periods offered (this year and the ``years - 1`` before it, newest first), codes as
    labels (``2026-03``, ``2026-Q1``, ``2026``: the same in every language)."""
    out: list[tuple[str, str]] = []
    for year in range(today.year, today.year - years, -1):
        out.append((f"{year:04d}", f"{year:04d}"))
        for q in range(4, 0, -1):
            if date(year, 3 * q - 2, 1) <= today:
                out.append((f"{year:04d}-Q{q}", f"{year:04d}-Q{q}"))
        for m in range(12, 0, -1):
            if date(year, m, 1) <= today:
                out.append((f"{year:04d}-{m:02d}", f"{year:04d}-{m:02d}"))
    return out
