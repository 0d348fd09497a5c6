"""Search before create: blind-index lookups by name or phone, exact case number.

Candidates from the blind index are confirmed after decryption (the index is truncated, so it
returns a few false positives by design). A match inside the user's scope is listed by case
number; a match outside it says only that a possible existing case exists and whom to ask, and
the attempt is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from app.audit.actions import Action, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.cases import sealing
from app.cases.models import Case
from app.cases.scopes import case_scope
from app.crypto.normalise import normalise_phone
from app.crypto.normalise import normalise_text as normalise_name
from app.db import db, transaction


@dataclass
class SearchResult:
    """What a search found: the user's own matching cases, and whether others exist."""

    mine: list[Case] = field(default_factory=list)
    elsewhere: bool = False


def _confirm(case: Case, name: str | None, phone: str | None) -> bool:
    """Decrypt and compare normalised values (rules out index false positives)."""
    if name:
        wanted = normalise_name(name)
        for f in ("full_name", "alias"):
            value = getattr(case, f)
            if value and normalise_name(value) == wanted:
                return True
    if phone:
        value = case.phone
        if value and normalise_phone(value) == normalise_phone(phone):
            return True
    return False


def search(user: User, *, name: str | None = None, phone: str | None = None,
           case_number: str | None = None) -> SearchResult:
    """Find possible existing cases; audited (the search terms are never recorded)."""
    ids: set[uuid.UUID] = set(sealing.candidates(name=name, phone=phone))
    if case_number:
        found = db.session.execute(
            select(Case.id).where(Case.case_number == case_number.strip().upper())
        ).scalar_one_or_none()
        if found:
            ids.add(found)
    result = SearchResult()
    if ids:
        # One query by primary key; the scope is evaluated per row (a filter on the scope would
        # let the planner scan a whole organisation's cases instead of the few candidates).
        rows = db.session.execute(
            select(Case, case_scope(user).label("in_scope")).where(Case.id.in_(ids))).all()
        in_scope = {case.id for case, mine in rows if mine}
        for case, _mine in rows:
            by_number = bool(case_number) and case.case_number == (case_number or "").strip().upper()
            if not (by_number or _confirm(case, name, phone)):
                continue
            if case.id in in_scope:
                result.mine.append(case)
            else:
                result.elsewhere = True
    with transaction():
        record(Action.CASE_SEARCH, object_type="case", reason=f"matches:{len(result.mine)}")
        if result.elsewhere:
            record(Action.CASE_POSSIBLE_DUPLICATE, object_type="case", outcome=Outcome.DENIED,
                   reason="match_outside_scope")
    result.mine.sort(key=lambda c: c.case_number)
    return result
