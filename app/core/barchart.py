"""What every server-drawn SVG bar chart shares (statistics tables, safe-space figures, a safe
space's month): the one mark and explanation of a withheld cell, and the horizontal frame that
places bars left to right and mirrors them for right-to-left pages.

The charts are plain rectangles and text in the page (the strict CSP needs no exception and no
script runs). A withheld cell is never a bar whose length could tell its value: each chart
draws it as an outlined box of one fixed width, marked with ``WITHHELD``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

WITHHELD = "×"


def legend(k: int) -> str:
    """The one explanation of the mark, shown wherever a withheld cell may be."""
    return str(_l("× withheld: fewer than %(k)d (<%(k)d), or withheld so that a number under "
                  "%(k)d cannot be worked out from the other figures.", k=k))


def shown(value: int | None) -> str:
    """A cell as text: the count, or the mark of a withheld cell."""
    return WITHHELD if value is None else str(value)


@dataclass(frozen=True)
class Frame:
    """A chart's columns: labels, bars, values; positions are given left to right."""

    width: int
    label_w: int
    value_w: int
    rtl: bool

    @property
    def bar_w(self) -> int:
        return self.width - self.label_w - self.value_w

    def x(self, pos: float, width: float = 0) -> float:
        """Where something ``width`` wide that starts at ``pos`` (left to right) is drawn."""
        return round(self.width - pos - width if self.rtl else pos, 1)

    @property
    def label_anchor(self) -> str:
        return "start" if self.rtl else "end"

    @property
    def value_anchor(self) -> str:
        return "end" if self.rtl else "start"

    def scale(self, values: Iterable[int | None]) -> float:
        """Length per unit: the largest published value fills the bar column."""
        biggest = max((v for v in values if v is not None), default=0)
        return self.bar_w / biggest if biggest else 0.0
