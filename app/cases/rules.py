"""Rules about a case as a whole that every write asks, in one place.

"A closed case is read-only until it is reopened": every service that changes a case or a
record of it calls ``ensure_writable`` first; reopening and erasure are the two acts that work
on a closed case (erasure is how retention ends a closed case). Pages show forms only where
``is_writable`` says a save would be accepted.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.cases.models import Case
from app.cases.workflow import CaseStatus
from app.core.errors import CaseError


def is_writable(case: Case) -> bool:
    """Whether the case takes changes (it is not closed)."""
    return case.status != CaseStatus.CLOSED


def ensure_writable(case: Case) -> None:
    """Refuse any change to a closed case (``CaseError`` with the message to show)."""
    if not is_writable(case):
        raise CaseError(str(_l("This case is closed and read-only. Reopen it to make changes.")))
