"""The rules of a programme activity log, in one place for the form, the service and the tests.

Both kinds of log (``AWARENESS``, ``TRAINING``) follow the same rules:

1. the site is one of the coordinator's own sites, and active (a closed site takes no new logs;
   a log already there may still be corrected in place);
2. the date is given, not after today (in the organisation's zone) and not before
   1 January of the previous year (``earliest``): the figures are reported by calendar year, so
   last year's late logs are still taken, older ones are typing mistakes. A correction may keep
   the date the log already has, however old;
3. the topic is one of the kind's codes;
4. every count is a whole number from 0 to the kind's ``max_total``; the total (the sum of the
   cells) is at least 1 (an activity nobody attended is not logged) and at most ``max_total``.

The directory records no opening date for a site (only safe spaces have one), and a site's
record is created when it is registered in Amana, often after work there began; so "before the
site existed" is enforced by the fixed floor of rule 2, not by the record's creation date
(which would refuse this year's earlier activities at a new installation).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from app.directory.models import Site
from app.programme.models import (
    AWARENESS_CELLS,
    TRAINING_CELLS,
    AwarenessSession,
    AwarenessTopic,
    StaffTraining,
    TrainingTopic,
)

# Where a message about the counts as a whole is shown.
TOTAL_FIELD = "people"


@dataclass(frozen=True)
class Kind:
    """A kind of activity log: its URL segment, table, cells, topic codes and largest total."""

    code: str
    model: type[AwarenessSession] | type[StaffTraining]
    cells: tuple[str, ...]
    topics: tuple[str, ...]
    max_total: int


AWARENESS = Kind("awareness", AwarenessSession, AWARENESS_CELLS, tuple(AwarenessTopic), 1000)
TRAINING = Kind("trainings", StaffTraining, TRAINING_CELLS, tuple(TrainingTopic), 200)
KINDS: dict[str, Kind] = {k.code: k for k in (AWARENESS, TRAINING)}


def earliest(today: date) -> date:
    """The earliest date a log may have: 1 January of the previous year."""
    return date(today.year - 1, 1, 1)


def takes_logs(site: Site, *, current_site_id: uuid.UUID | None = None) -> bool:
    """Whether activities can be logged at ``site``: a closed one takes no new logs, but a log
    already there (``current_site_id``) may be corrected in place."""
    return site.active or site.id == current_site_id


def total(kind: Kind, counts: Mapping[str, Any]) -> int:
    """Everyone who took part: the sum of the kind's cells."""
    return sum(int(counts.get(c) or 0) for c in kind.cells)


def sex_total(kind: Kind, log: object, sex: str) -> int:
    """The people of one sex (``female``, ``male``) in a log of ``kind``."""
    return sum(int(getattr(log, c)) for c in kind.cells if c.startswith(sex + "_"))


def count_errors(kind: Kind, counts: Mapping[str, object]) -> dict[str, str]:
    """Messages for counts that break rule 4, by field (``TOTAL_FIELD`` for the total).

    A value that is not a whole number from 0 to ``kind.max_total`` gets its own message and
    the total is not checked.
    """
    errors: dict[str, str] = {}
    for name in kind.cells:
        value = counts.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = str(_l("Enter a whole number (0 if none)."))
        elif value < 0:
            errors[name] = str(_l("A count cannot be negative."))
        elif value > kind.max_total:
            errors[name] = str(_l("At most %(n)d.", n=kind.max_total))
    if errors:
        return errors
    whole = sum(cast(int, counts[c]) for c in kind.cells)
    if whole < 1:
        errors[TOTAL_FIELD] = str(_l("Enter how many people took part. An activity no one "
                                     "attended is not logged."))
    elif whole > kind.max_total:
        errors[TOTAL_FIELD] = str(_l("The counts add up to %(t)d; one activity has at most "
                                     "%(n)d people.", t=whole, n=kind.max_total))
    return errors


def log_errors(kind: Kind, values: Mapping[str, Any], site: Site | None, today: date, *,
               current_site_id: uuid.UUID | None = None,
               current_date: date | None = None) -> dict[str, str]:
    """Every rule a log must meet, by field (the module docstring lists them).

    ``site`` is the chosen site if it is one of the user's (``None`` when it is not).
    ``current_site_id`` and ``current_date``: the site and date of the log being corrected.
    """
    errors: dict[str, str] = {}
    if site is None:
        errors["site"] = str(_l("You can only log activities at your own sites."))
    elif not takes_logs(site, current_site_id=current_site_id):
        errors["site"] = str(_l("This site is closed; no new activities can be logged there."))
    held_on = values.get("held_on")
    floor = earliest(today)
    if not isinstance(held_on, date):
        errors["held_on"] = str(_l("Enter the date of the activity."))
    elif held_on > today:
        errors["held_on"] = str(_l("This date is in the future."))
    elif held_on < floor and held_on != current_date:
        errors["held_on"] = str(_l("Activities from before %(d)s can no longer be logged; check "
                                   "the year.", d=format_date(floor, "medium")))
    if values.get("topic") not in kind.topics:
        errors["topic"] = str(_l("Choose a topic."))
    errors.update(count_errors(kind, {name: values.get(name) for name in kind.cells}))
    return errors
