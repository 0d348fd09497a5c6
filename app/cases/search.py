"""Search before create: by name or phone (``app.crypto.search.find``), exact case number.

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
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import ngettext
from limits import RateLimitItem, parse
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.cases.models import Case
from app.cases.scopes import case_scope
from app.crypto.search import find
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
    # Only the user's organisation is searched: other organisations' candidates are dropped in
    # the query, before anything is decrypted, so neither the answer nor its timing differs
    # from a value that exists nowhere.
    own = select(Case).where(Case.organisation_id == user.organisation_id)
    number = (case_number or "").strip().upper()
    # A case found by its number needs no decryption; the others are confirmed by their
    # values. A candidate that does not open is left out and counted (its failure is
    # audited): one damaged record must not stop every search, and with it every intake.
    matched: list[Case] = list(db.session.execute(own.where(Case.case_number == number))
                               .scalars()) if number else []
    rest = own.where(Case.id.not_in([c.id for c in matched])) if matched else own
    found = find(rest, notice=False, full_name=name, alias=name, phone=phone)
    matched += found
    result = SearchResult(unreadable=found.skipped)
    if matched:
        # The scope is evaluated per row of the few matches by primary key (a filter on the
        # scope would let the planner scan a whole organisation's cases).
        in_scope = {case_id for case_id, mine in db.session.execute(
            select(Case.id, case_scope(user).label("in_scope"))
            .where(Case.id.in_([c.id for c in matched]))) if mine}
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
