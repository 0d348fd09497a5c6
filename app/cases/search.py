"""Search before create: blind-index lookups by name or phone, exact case number.

Candidates from the blind index are confirmed after decryption (the index is truncated, so it
returns a few false positives by design). Only the user's own organisation is searched: another
organisation's cases are invisible, so the answer for them is the same as for a value that
exists nowhere. A match inside the user's scope is listed by case number; a match outside it in
the same organisation says only that a possible existing case exists and whom to ask, and the
attempt is audited.

Searches are rate-limited per user (``CASE_SEARCH_LIMIT``), so the search cannot be used to
test many names or phone numbers quickly. The counters live in Flask-Limiter's storage, like the
login throttle, so they hold across several app hosts when that storage is Redis.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import ngettext
from limits import RateLimitItem, parse
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.cases import sealing
from app.cases.models import Case
from app.cases.scopes import case_scope
from app.crypto.normalise import normalise_phone
from app.crypto.normalise import normalise_text as normalise_name
from app.crypto.readable import readable
from app.db import db, transaction
from app.extensions import limiter

_LIMIT_NAMESPACE = "case-search"


class SearchLimited(Exception):
    """The user has used up their searches for now; nothing was searched. ``str()`` is the
    message to show (translated)."""


@dataclass
class SearchResult:
    """What a search found: the user's own matching cases, and whether others exist."""

    mine: list[Case] = field(default_factory=list)
    elsewhere: bool = False
    # Candidates that could not be read (left out; each failure is audited and alerted).
    unreadable: int = 0


def _fields(name: str | None, phone: str | None) -> tuple[str, ...]:
    """The sealed fields a search by ``name`` and/or ``phone`` compares."""
    return (("full_name", "alias") if name else ()) + (("phone",) if phone else ())


def _confirm(values: dict[str, Any], name: str | None, phone: str | None) -> bool:
    """Compare decrypted, normalised values (rules out index false positives)."""
    if name:
        wanted = normalise_name(name)
        for f in ("full_name", "alias"):
            value = values.get(f)
            if value and normalise_name(value) == wanted:
                return True
    if phone:
        value = values.get("phone")
        if value and normalise_phone(value) == normalise_phone(phone):
            return True
    return False


def _limit() -> RateLimitItem:
    return parse(str(current_app.config["CASE_SEARCH_LIMIT"]))


def _refuse(user: User, item: RateLimitItem) -> SearchLimited:
    """Record the refused search and make its message (how long until searching works again)."""
    with transaction():
        record(Action.CASE_SEARCH_THROTTLED, object_type=ObjectType.CASE, outcome=Outcome.DENIED,
               reason="rate_limit")
    reset_at, _remaining = limiter.limiter.get_window_stats(item, _LIMIT_NAMESPACE, str(user.id))
    minutes = max(1, math.ceil((reset_at - time.time()) / 60))
    return SearchLimited(ngettext(
        "You have made many searches in a short time. Searching is paused for your account: "
        "try again in %(num)d minute.",
        "You have made many searches in a short time. Searching is paused for your account: "
        "try again in %(num)d minutes.", minutes))


def search(user: User, *, name: str | None = None, phone: str | None = None,
           case_number: str | None = None) -> SearchResult:
    """Find possible existing cases in the user's organisation; audited (the search terms are
    never recorded). Raises ``SearchLimited`` (audited, nothing searched) past the user's limit.
    """
    item = _limit()
    if not limiter.limiter.hit(item, _LIMIT_NAMESPACE, str(user.id)):
        raise _refuse(user, item)
    ids: set[uuid.UUID] = set(sealing.candidates(name=name, phone=phone))
    if case_number:
        found = db.session.execute(
            select(Case.id).where(Case.case_number == case_number.strip().upper(),
                                  Case.organisation_id == user.organisation_id)
        ).scalar_one_or_none()
        if found:
            ids.add(found)
    result = SearchResult()
    if ids:
        # One query by primary key; the scope is evaluated per row (a filter on the scope would
        # let the planner scan a whole organisation's cases instead of the few candidates).
        # Other organisations' candidates are dropped here, before anything is decrypted, so
        # neither the answer nor its timing differs from a value that exists nowhere.
        rows = db.session.execute(
            select(Case, case_scope(user).label("in_scope"))
            .where(Case.id.in_(ids), Case.organisation_id == user.organisation_id)).all()
        in_scope = {case.id for case, mine in rows if mine}
        number = (case_number or "").strip().upper()
        # A case found by its number needs no decryption; the others are confirmed by their
        # values. A candidate that does not open is left out and counted (its failure is
        # audited): one damaged record must not stop every search, and with it every intake.
        matched = [case for case, _mine in rows if number and case.case_number == number]
        opened = readable([case for case, _mine in rows if case not in matched],
                          _fields(name, phone), notice=False)
        matched += [case for case, values in opened if _confirm(values, name, phone)]
        result.unreadable = opened.skipped
        for case in matched:
            if case.id in in_scope:
                result.mine.append(case)
            else:
                result.elsewhere = True
    with transaction():
        record(Action.CASE_SEARCH, object_type=ObjectType.CASE, reason=f"matches:{len(result.mine)}"
               + (f";unreadable:{result.unreadable}" if result.unreadable else ""))
        if result.elsewhere:
            record(Action.CASE_POSSIBLE_DUPLICATE, object_type=ObjectType.CASE, outcome=Outcome.DENIED,
                   reason="match_outside_scope")
    result.mine.sort(key=lambda c: c.case_number)
    return result
