"""The one search over sealed fields: blind-index candidates, confirmed after decryption.

Every search of the app by a sealed value (the duplicate search before intake, the checks that
an explanation does not name its case) goes through ``find`` or ``find_matches``: nothing is
decrypted outside the query's own filters, and a record that does not open is left out and
counted, never served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

from app.crypto.blind_index import BlindIndex, candidates_query, ranked_candidates
from app.crypto.fields import SealedField, index_text
from app.crypto.readable import readable
from app.db import db

M = TypeVar("M")


class Found(list[M]):
    """The records a ``find`` confirmed; ``skipped`` counts candidates left out as unreadable
    (each failure audited, as ``app.crypto.readable`` does)."""

    skipped: int = 0


@dataclass
class Match(Generic[M]):
    """One confirmed record and what matched: (field, index name) -> the shared terms (the
    normal form for a plain index, the shared tags for a tag index such as name parts)."""

    record: M
    matched: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def terms(self, index: BlindIndex, *fields: str) -> set[str]:
        """The terms shared through ``index`` in any of ``fields`` (all fields if none named)."""
        return {t for (f, name), got in self.matched.items()
                if name == index.name and (not fields or f in fields) for t in got}


class Matches(list[Match[M]]):
    """The records ``find_matches`` confirmed; ``skipped`` as in ``Found``; ``truncated``: more
    candidates than ``limit`` shared an index entry, and only the best-scored were opened."""

    skipped: int = 0
    truncated: bool = False


def find_matches(stmt: Select[M], terms: Sequence[tuple[str, BlindIndex, str | None]], *,
                 notice: bool = True, limit: int | None = None,
                 weights: Mapping[str, int] | None = None) -> Matches[M]:
    """Records of ``stmt`` (a scoped query of one sealed model) matching any of ``terms``, each
    ``(field, index, value)`` with ``index`` one of the field's indexes, with what matched:

        find_matches(select(Case).where(...), [("full_name", NAME_PART, "Fatima"),
                                               ("phone", PHONE, "0912345678")])

    Blind-index candidates (one subquery over every term, under ``stmt``'s own filters, so
    nothing outside it is decrypted), each confirmed after decryption: a plain index matches
    an equal normal form, a tag index any shared tag. A candidate that does not open is left
    out and counted (``readable``; ``notice=False`` when the page words its own notice).
    Empty values search nothing; no value at all finds nothing.

    With ``limit``, at most that many candidates are opened: those whose matching entries
    weigh most (``weights`` by index name, see ``ranked_candidates``), ranked under ``stmt``'s
    own filters so records outside it never take a place; ``truncated`` says more were left.
    A common name part can be shared by a fifth of an organisation's cases, and opening each
    costs about a millisecond and a half."""
    model: Any = stmt.column_descriptions[0]["entity"]
    sealed: dict[str, SealedField[Any]] = model.__sealed_fields__
    wanted: list[tuple[str, BlindIndex, str]] = []
    for name, index, value in terms:
        if index not in sealed[name].indexes:
            raise ValueError(f"{name} has no blind index {index.name}")
        if value:
            wanted.append((name, index, value))
    found: Matches[M] = Matches()
    if not wanted:
        return found
    pairs = [(i, v) for _n, i, v in wanted]
    if limit is None:
        rows: list[M] = list(db.session.execute(
            stmt.where(model.id.in_(candidates_query(model.__tablename__, pairs)))).scalars())
    else:
        scored = ranked_candidates(model.__tablename__, pairs, weights or {})
        rows = list(db.session.execute(
            stmt.join(scored, model.id == scored.c.owner_id)
            .order_by(scored.c.score.desc(), model.id).limit(limit + 1)).scalars())
        found.truncated = len(rows) > limit
        rows = rows[:limit]
    opened = readable(rows, list(dict.fromkeys(n for n, _i, _v in wanted)), notice=notice)
    for row, got in opened:
        match = Match(row)
        for name, index, value in wanted:
            if shared := index.shared(index_text(got[name]), value):
                match.matched.setdefault((name, index.name), set()).update(shared)
        if match.matched:
            found.append(match)
    found.skipped = opened.skipped
    return found


def find(stmt: Select[M], *, notice: bool = True, **values: str | None) -> Found[M]:
    """Records of ``stmt`` (a scoped query of one sealed model) whose sealed field equals the
    value given for it once normalised; with several fields, any one equal is a match:

        find(select(Case).where(...), full_name=name, alias=name, phone=phone)

    ``find_matches`` with each field's main index (see there)."""
    model: Any = stmt.column_descriptions[0]["entity"]
    sealed: dict[str, SealedField[Any]] = model.__sealed_fields__
    terms: list[tuple[str, BlindIndex, str | None]] = []
    for name, value in values.items():
        index = sealed[name].index
        if index is None:
            raise ValueError(f"{name} has no blind index")
        terms.append((name, index, value))
    matches = find_matches(stmt, terms, notice=notice)
    found: Found[M] = Found(m.record for m in matches)
    found.skipped = matches.skipped
    return found
