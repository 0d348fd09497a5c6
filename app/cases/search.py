"""Search before create: by name, name part, phone or date of birth (blind indexes, through
``app.crypto.search.find_matches``) and exact case number; candidates ranked.

Candidates from the blind index are confirmed after decryption (the index is truncated, so it
returns a few false positives by design). Only the user's own organisation is searched: another
organisation's cases are invisible, so the answer for them is the same as for a value that
exists nowhere. A match inside the user's scope is listed by case number; a match outside it in
the same organisation says only that a possible existing case exists and whom to ask (and only
for a strong match, ``STRONG``: one common name part is no reason to ask), and the attempt is
audited.

Searches are rate-limited per user (``CASE_SEARCH_LIMIT``), so the search cannot be used to
test many names or phone numbers quickly. The counters live in Flask-Limiter's storage, like the
login throttle, so they hold across several app hosts when that storage is Redis.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import ngettext
from limits import RateLimitItem, parse
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.cases.models import Case
from app.cases.scopes import case_scope
from app.crypto.blind_index import BIRTH_DATE, NAME_PART, PERSON_NAME, PHONE, BlindIndex
from app.crypto.search import Match, find_matches
from app.db import db, transaction
from app.extensions import limiter

_LIMIT_NAMESPACE = "case-search"


class SearchLimited(Exception):
    """The user has used up their searches for now; nothing was searched. ``str()`` is the
    message to show (translated)."""


# Weights of what a candidate shares with the search (``rank``): the whole name (exactly, or
# every part of a name of several parts in some spelling) outranks any number of parts short of
# all of them; phone and date of birth add to a name match.
FULL_NAME_WEIGHT = 10
PART_WEIGHT = 2
PHONE_WEIGHT = 5
BIRTH_DATE_WEIGHT = 3
CASE_NUMBER_WEIGHT = 20
# An out-of-scope candidate says "ask your supervisor" only from this score on: the whole name,
# the phone, the case number, two name parts, or one part with the date of birth. One common
# name part alone (or a date of birth alone) says nothing about cases the user cannot see.
STRONG = 4
# The same weights on the index entries, before anything is opened: the candidates opened
# first when a common name part is shared by more cases than ``CASE_SEARCH_CANDIDATES``.
INDEX_WEIGHTS = {PERSON_NAME.name: FULL_NAME_WEIGHT, NAME_PART.name: PART_WEIGHT,
                 PHONE.name: PHONE_WEIGHT, BIRTH_DATE.name: BIRTH_DATE_WEIGHT}
NAME_FIELDS = ("full_name", "alias")


@dataclass
class Candidate:
    """One of the user's cases that the search found, with why (``reasons``: codes, never the
    values) and its ``score`` (the ranking)."""

    case: Case
    score: int = 0
    reasons: list[str] = field(default_factory=list)
    parts: int = 0  # name parts of the search that this case shares
    parts_searched: int = 0


@dataclass
class SearchResult:
    """What a search found: the user's own matching cases (best first), and whether others exist."""

    mine: list[Case] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    elsewhere: bool = False
    # Candidates that could not be read (left out; each failure is audited and alerted).
    unreadable: int = 0
    # More candidates shared an index entry than were opened (``CASE_SEARCH_CANDIDATES``):
    # the page asks for the family name, phone or date of birth.
    truncated: bool = False


def rank(match: Match[Case], name: str | None) -> Candidate:
    """Score one confirmed match: why it matched, and how strongly (see the weights above)."""
    cand = Candidate(match.record)
    if match.terms(PERSON_NAME, "full_name"):
        cand.reasons.append("full_name")
    if match.terms(PERSON_NAME, "alias"):
        cand.reasons.append("alias")
    exact = bool(cand.reasons)
    parts = match.terms(NAME_PART, *NAME_FIELDS)
    if parts and name:
        cand.parts, cand.parts_searched = len(parts), len(NAME_PART.terms(name))
        cand.score += PART_WEIGHT * len(parts)
        if not cand.reasons:
            cand.reasons.append("name_parts")
    # Every part of a name of several parts, each in some spelling, is the whole name.
    every_part = cand.parts_searched > 1 and cand.parts == cand.parts_searched
    if exact or every_part:
        cand.score += FULL_NAME_WEIGHT
    if match.terms(PHONE):
        cand.score += PHONE_WEIGHT
        cand.reasons.append("phone")
    if match.terms(BIRTH_DATE):
        cand.score += BIRTH_DATE_WEIGHT
        cand.reasons.append("date_of_birth")
    return cand


def _limit() -> RateLimitItem:
    return parse(str(current_app.config["CASE_SEARCH_LIMIT"]))


def _refuse(user: User, item: RateLimitItem) -> SearchLimited:
    """Record the refused search and make its message (how long until searching works again)."""
    # Only the events are written: the candidates stay as opened (not expired and read
    # again one by one for the ranking and the page).
    with transaction(keep_loaded=True):
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
           date_of_birth: date | None = None, case_number: str | None = None) -> SearchResult:
    """Find possible existing cases in the user's organisation, ranked; audited (the search
    terms are never recorded). Raises ``SearchLimited`` (audited, nothing searched) past the
    user's limit.

    A name matches the whole name or alias, or any whole part of either in Arabic or Latin
    spelling (``app.crypto.namekeys``); a phone its normal form; a date of birth the same day.
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
    ranked: list[Candidate] = [
        Candidate(c, CASE_NUMBER_WEIGHT, ["case_number"])
        for c in db.session.execute(own.where(Case.case_number == number)).scalars()
    ] if number else []
    rest = own.where(Case.id.not_in([c.case.id for c in ranked])) if ranked else own
    terms: list[tuple[str, BlindIndex, str | None]] = [
        *((f, index, name) for f in NAME_FIELDS for index in (PERSON_NAME, NAME_PART)),
        ("phone", PHONE, phone),
        ("date_of_birth", BIRTH_DATE, date_of_birth.isoformat() if date_of_birth else None)]
    found = find_matches(rest, terms, notice=False, limit=int(current_app.config[
        "CASE_SEARCH_CANDIDATES"]), weights=INDEX_WEIGHTS)
    ranked += [rank(m, name) for m in found]
    result = SearchResult(unreadable=found.skipped, truncated=found.truncated)
    if ranked:
        # The scope is evaluated per row of the few matches by primary key (a filter on the
        # scope would let the planner scan a whole organisation's cases).
        in_scope = {case_id for case_id, mine in db.session.execute(
            select(Case.id, case_scope(user).label("in_scope"))
            .where(Case.id.in_([c.case.id for c in ranked]))) if mine}
        for cand in ranked:
            if cand.case.id in in_scope:
                result.candidates.append(cand)
            elif cand.score >= STRONG:
                result.elsewhere = True
    # Only the events are written: the candidates stay as opened (not expired and read
    # again one by one for the ranking and the page).
    with transaction(keep_loaded=True):
        record(Action.CASE_SEARCH, object_type=ObjectType.CASE,
               reason=f"matches:{len(result.candidates)}"
               + (f";unreadable:{result.unreadable}" if result.unreadable else ""))
        if result.elsewhere:
            record(Action.CASE_POSSIBLE_DUPLICATE, object_type=ObjectType.CASE, outcome=Outcome.DENIED,
                   reason="match_outside_scope")
    result.candidates.sort(key=lambda c: (-c.score, c.case.case_number))
    result.mine = [c.case for c in result.candidates]
    return result
