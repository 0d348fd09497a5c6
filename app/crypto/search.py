"""The one search over sealed fields: blind-index candidates, confirmed after decryption.

Every search of the app by a sealed value (the duplicate search before intake, the checks that
an explanation does not name its case) goes through ``find``: nothing is decrypted outside the
query's own filters, and a record that does not open is left out and counted, never served.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

from app.crypto.blind_index import candidates_query
from app.crypto.fields import SealedField
from app.crypto.readable import readable
from app.db import db

M = TypeVar("M")


class Found(list[M]):
    """The records a ``find`` confirmed; ``skipped`` counts candidates left out as unreadable
    (each failure audited, as ``app.crypto.readable`` does)."""

    skipped: int = 0


def find(stmt: Select[M], *, notice: bool = True, **values: str | None) -> Found[M]:
    """Records of ``stmt`` (a scoped query of one sealed model) whose sealed field equals the
    value given for it once normalised; with several fields, any one equal is a match:

        find(select(Case).where(...), full_name=name, alias=name, phone=phone)

    Blind-index candidates (one subquery over every field's index, under ``stmt``'s own
    filters, so nothing outside it is decrypted), each confirmed after decryption. A candidate
    that does not open is left out and counted (``readable``; ``notice=False`` when the page
    words its own notice). Empty values search nothing; no value at all finds nothing."""
    model: Any = stmt.column_descriptions[0]["entity"]
    sealed: dict[str, SealedField[Any]] = model.__sealed_fields__
    terms: list[tuple[SealedField[str], str]] = []
    for name, value in values.items():
        field = sealed[name]
        if field.index is None:
            raise ValueError(f"{name} has no blind index")
        if value:
            terms.append((field, value))
    found: Found[M] = Found()
    if not terms:
        return found
    sub = candidates_query(model.__tablename__, [(f.index, v) for f, v in terms if f.index])
    rows: list[M] = list(db.session.execute(stmt.where(model.id.in_(sub))).scalars())
    opened = readable(rows, list(dict.fromkeys(f.name for f, _v in terms)), notice=notice)
    found.extend(r for r, got in opened
                 if any(f.index and f.index.same(got[f.name], v) for f, v in terms))
    found.skipped = opened.skipped
    return found
