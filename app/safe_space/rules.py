"""The attendance rules of a session log, in one place for the form, the service and the tests.

Cells: girls are under 18, women 18 and over, so the age bands split as

    band     girls            women
    10–14    girls_10_14      (none: under 18)
    15–19    girls_15_19      women_15_19     (girls 15–17, women 18–19)
    20–24    (none)           women_20_24
    25–49    (none)           women_25_49
    50+      (none)           women_50_plus

Rules (every count a whole number from 0 to ``MAX_COUNT``):

1. the attendance total is the sum of the six cells; it is at least 1 (a session nobody
   attended is not logged) and at most ``MAX_COUNT``;
2. new + returning participants = the total (everyone is one or the other);
3. participants with disabilities ≤ the total;
4. requests for case management ≤ the total (one request per participant at most);
5. referrals made is not bounded by the total (one participant may be referred to several
   services), only by ``MAX_COUNT``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from app.directory.models import SafeSpace

MAX_COUNT = 500
DURATION_MIN, DURATION_MAX = 10, 480


@dataclass(frozen=True)
class Band:
    """An age band and its attendance cells (``None`` where the sex cannot occur)."""

    code: str
    label: object
    girls: str | None
    women: str | None

    @property
    def is_range(self) -> bool:
        """Whether the label is a range of numbers (shown left to right in Arabic too)."""
        return not self.code.endswith("_plus")


BANDS = (
    Band("10_14", _l("10–14"), "girls_10_14", None),
    Band("15_19", _l("15–19"), "girls_15_19", "women_15_19"),
    Band("20_24", _l("20–24"), None, "women_20_24"),
    Band("25_49", _l("25–49"), None, "women_25_49"),
    Band("50_plus", _l("50 and over"), None, "women_50_plus"),
)
CELL_LABELS = {
    "girls_10_14": _l("Girls 10–14"), "girls_15_19": _l("Girls 15–17"),
    "women_15_19": _l("Women 18–19"), "women_20_24": _l("Women 20–24"),
    "women_25_49": _l("Women 25–49"), "women_50_plus": _l("Women 50 and over"),
}
CELLS = tuple(c for b in BANDS for c in (b.girls, b.women) if c)
OTHER_COUNTS = ("new_participants", "returning_participants", "with_disabilities",
                "case_management_requests", "referrals_made")
ALL_COUNTS = CELLS + OTHER_COUNTS
# Where a message about the attendance as a whole is shown.
TOTAL_FIELD = "attendance"


def total(counts: Mapping[str, int]) -> int:
    """Everyone who attended: the sum of the six attendance cells."""
    return sum(int(counts.get(c) or 0) for c in CELLS)


def count_errors(counts: Mapping[str, object]) -> dict[str, str]:
    """Messages for counts that break the rules, by field (``TOTAL_FIELD`` for the total).

    ``counts`` maps every name of ``ALL_COUNTS`` to what was given; a value that is not a
    whole number from 0 to ``MAX_COUNT`` gets its own message and the sums are not checked.
    """
    errors: dict[str, str] = {}
    for name in ALL_COUNTS:
        value = counts.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = str(_l("Enter a whole number (0 if none)."))
        elif value < 0:
            errors[name] = str(_l("A count cannot be negative."))
        elif value > MAX_COUNT:
            errors[name] = str(_l("At most %(n)d.", n=MAX_COUNT))
    if errors:
        return errors
    n = {k: cast(int, counts[k]) for k in ALL_COUNTS}
    whole = total(n)
    if whole < 1:
        errors[TOTAL_FIELD] = str(_l("Enter how many attended, by age band. A session no one "
                                     "attended is not logged."))
    elif whole > MAX_COUNT:
        errors[TOTAL_FIELD] = str(_l("The age bands add up to %(t)d; a session has at most %(n)d "
                                     "participants.", t=whole, n=MAX_COUNT))
    if n["new_participants"] + n["returning_participants"] != whole:
        errors["new_participants"] = str(_l(
            "New (%(a)d) and returning (%(b)d) participants add up to %(s)d, but the age bands "
            "add up to %(t)d. Everyone who attended is either new or returning.",
            a=n["new_participants"], b=n["returning_participants"],
            s=n["new_participants"] + n["returning_participants"], t=whole))
    if n["with_disabilities"] > whole:
        errors["with_disabilities"] = str(_l(
            "More participants with disabilities (%(d)d) than attended (%(t)d).",
            d=n["with_disabilities"], t=whole))
    if n["case_management_requests"] > whole:
        errors["case_management_requests"] = str(_l(
            "More requests for case management (%(d)d) than participants (%(t)d).",
            d=n["case_management_requests"], t=whole))
    return errors


def takes_sessions(space: SafeSpace, *, current_space_id: uuid.UUID | None = None) -> bool:
    """Whether sessions can be logged for ``space``: a closed one takes no new sessions, but a
    session already logged there (``current_space_id``) may be corrected in place."""
    return space.active or space.id == current_space_id


def session_errors(values: Mapping[str, Any], space: SafeSpace | None, today: date, *,
                   current_space_id: uuid.UUID | None = None) -> dict[str, str]:
    """Every rule a session log must meet beyond its fields' own formats, by field.

    ``space`` is the chosen safe space if it is in the user's scope (``None`` when it is not).
    A space that is no longer active takes no new sessions (``current_space_id``: the space of
    the session being corrected, which may stay). Dates: not after ``today``, not before the
    space opened. Outreach area: required for a
    mobile space, empty for a static one. Duration: ``DURATION_MIN`` to ``DURATION_MAX``.
    Counts: ``count_errors``.
    """
    errors: dict[str, str] = {}
    if space is None:
        errors["safe_space"] = str(_l("You can only log sessions for your own safe spaces."))
    elif not takes_sessions(space, current_space_id=current_space_id):
        errors["safe_space"] = str(_l("This safe space is closed; no new sessions can be logged "
                                      "there."))
    held_on = values.get("held_on")
    if not isinstance(held_on, date):
        errors["held_on"] = str(_l("Enter the date of the session."))
    elif held_on > today:
        errors["held_on"] = str(_l("This date is in the future."))
    elif space is not None and space.opened_on is not None and held_on < space.opened_on:
        errors["held_on"] = str(_l("This safe space opened on %(d)s; the session cannot be "
                                   "earlier.", d=format_date(space.opened_on, "medium")))
    area = (values.get("outreach_area") or "").strip()
    if space is not None and space.kind == "mobile" and not area:
        errors["outreach_area"] = str(_l("For a mobile safe space, name the area where the "
                                         "session was held (an area, never an address)."))
    elif space is not None and space.kind != "mobile" and area:
        errors["outreach_area"] = str(_l("Only mobile safe spaces record an outreach area; leave "
                                         "this empty."))
    duration = values.get("duration_minutes")
    if (isinstance(duration, bool) or not isinstance(duration, int)
            or not DURATION_MIN <= duration <= DURATION_MAX):
        errors["duration_minutes"] = str(_l("Enter the duration in minutes, from %(a)d to %(b)d.",
                                            a=DURATION_MIN, b=DURATION_MAX))
    errors.update(count_errors({name: values.get(name) for name in ALL_COUNTS}))
    return errors
