"""Blind indexes: exact-match search over sealed fields without decrypting them.

An index value is HMAC-SHA256 over the normalised value (``app.crypto.normalise``), under a key
derived with HKDF from ``KEY_INDEX_ROOT`` and the index name, so the same value gives unrelated
digests in two indexes and nothing can be computed without the root key.

Width. Digests are truncated to ``bits`` (16 by default): among N records a lookup returns the
true matches plus about N / 2^16 others (1.5 at 100,000 records, 15 at a million), which are
discarded after decryption. Truncation is deliberate: with the root key an attacker who guesses
names still cannot tell which of the ~N/2^16 records sharing a digest holds the guess, while
each search costs only a few decryptions.

Entries live in ``blind_index_entries`` (index, digest, owner table, owner id, field, data key).
Sealed fields declared with ``index=`` keep them up to date at flush (see ``app.crypto.fields``);
``shred`` removes them with the data key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import Select, Subquery, and_, case, delete, false, func, insert, literal, or_, select

from app.crypto.aead import derive_key
from app.crypto.models import BlindIndexEntry
from app.crypto.namekeys import name_keys
from app.crypto.normalise import normalise_date, normalise_phone, normalise_text
from app.db import db

DEFAULT_BITS = 16
_KEYS = "amana_blind_index_keys"


@dataclass(frozen=True)
class BlindIndex:
    """A named index: how values are normalised and how many digest bits are kept."""

    name: str
    normalise: Callable[[str], str] = field(default=normalise_text)
    bits: int = DEFAULT_BITS
    # An index of a set of tags per value (the parts of a name): what a value is split into.
    # Each tag is normalised and indexed on its own; a search matches any shared tag.
    tags: Callable[[str], Iterable[str]] | None = None

    def __post_init__(self) -> None:
        if not 8 <= self.bits <= 256 or self.bits % 8:
            raise ValueError("blind index width must be a whole number of bytes, 8 to 256 bits")
        if not self.name.isidentifier() or len(self.name) > 40:
            raise ValueError("blind index names are short identifiers")

    def _key(self) -> bytes:
        keys: dict[str, bytes] = current_app.extensions.setdefault(_KEYS, {})
        key = keys.get(self.name)
        if key is None:
            key = derive_key(current_app.config["KEY_INDEX_ROOT"], f"blind-index/{self.name}")
            keys[self.name] = key
        return key

    def _mac(self, normal: str) -> bytes:
        full = hmac.new(self._key(), normal.encode("utf-8"), hashlib.sha256).digest()
        return full[: self.bits // 8]

    def digest(self, value: str) -> bytes | None:
        """The truncated digest of ``value`` (None when it normalises to nothing)."""
        normal = self.normalise(value)
        if not normal:
            return None
        return self._mac(normal)

    def terms(self, value: str) -> set[str]:
        """What is indexed for ``value``: its normal form, or each of its normalised tags."""
        if self.tags is None:
            normal = self.normalise(value)
            return {normal} if normal else set()
        return {normal for tag in self.tags(value) if (normal := self.normalise(tag))}

    def digests(self, value: str) -> set[bytes]:
        """The truncated digests of every term of ``value`` (one, or one per tag)."""
        return {self._mac(term) for term in self.terms(value)}

    def same(self, a: str | None, b: str) -> bool:
        """Whether ``a`` and ``b`` are equal once normalised (confirms a candidate)."""
        return a is not None and bool(self.normalise(b)) and self.normalise(a) == self.normalise(b)

    def shared(self, a: str | None, b: str) -> set[str]:
        """The terms ``a`` and ``b`` have in common (confirms a candidate of a tag index)."""
        return set() if a is None else self.terms(a) & self.terms(b)


# Every index of the application, declared once: sealed fields name them (``index=``), the
# search (``app.crypto.search.find``) and the justification check read them from there.
# Changing a normaliser or width means re-indexing.
# Names and aliases share one index, so a search by name finds either.
PERSON_NAME = BlindIndex("person_name")
PHONE = BlindIndex("phone", normalise_phone)
# Each whole part of a name or alias, as its Arabic/Latin name key (``app.crypto.namekeys``),
# stored as a set of 8-bit tags: short on purpose, a common part must not stand out (README,
# *Search before create*). 8 bits also for the date of birth (ISO form): a low-entropy value.
NAME_PART = BlindIndex("person_name_part", bits=8, tags=name_keys)
BIRTH_DATE = BlindIndex("birth_date", normalise_date, bits=8)


def candidates_query(owner_table: str,
                     terms: Iterable[tuple[BlindIndex, str]]) -> Select[uuid.UUID]:
    """A subquery of the ids of ``owner_table`` records with an index entry matching any of
    ``terms`` (index, value): one subquery, so the database joins it once."""
    wanted = {(index.name, digest) for index, value in terms for digest in index.digests(value)}
    stmt = select(BlindIndexEntry.owner_id).where(BlindIndexEntry.owner_table == owner_table)
    if not wanted:
        return stmt.where(false())  # matches nothing
    return stmt.where(or_(*(and_(BlindIndexEntry.index_name == name, BlindIndexEntry.digest == d)
                            for name, d in sorted(wanted))))


def ranked_candidates(owner_table: str, terms: Iterable[tuple[BlindIndex, str]],
                      weights: Mapping[str, int]) -> Subquery:
    """``candidates_query`` with a score per record: the sum of ``weights`` (by index name,
    1 for an index not named) over its matching entries, as columns ``owner_id`` and
    ``score``. Computed from digests only, so a search can open its best candidates first."""
    wanted = {(index.name, digest) for index, value in terms for digest in index.digests(value)}
    weight = case(*((BlindIndexEntry.index_name == n, w) for n, w in sorted(weights.items())),
                  else_=1) if weights else literal(1)
    stmt = (select(BlindIndexEntry.owner_id.label("owner_id"), func.sum(weight).label("score"))
            .where(BlindIndexEntry.owner_table == owner_table))
    stmt = stmt.where(or_(*(and_(BlindIndexEntry.index_name == name, BlindIndexEntry.digest == d)
                            for name, d in sorted(wanted)))) if wanted else stmt.where(false())
    return stmt.group_by(BlindIndexEntry.owner_id).subquery()


def candidate_ids(index: BlindIndex, value: str, owner_table: str) -> list[uuid.UUID]:
    """Ids of records that may hold ``value`` (for checks and benchmarks: the app searches with
    ``app.crypto.search.find``, which also confirms each candidate)."""
    return list(db.session.execute(candidates_query(owner_table, [(index, value)]).distinct())
                .scalars())


def entries_for(index: BlindIndex, value: str | None, *, owner_table: str,
                owner_id: uuid.UUID, field_name: str, data_key_id: uuid.UUID) -> list[dict[str, object]]:
    """Rows for ``blind_index_entries`` indexing ``value`` (none for None or an empty value;
    one per distinct digest of a tag index)."""
    if value is None:
        return []
    return [{"index_name": index.name, "digest": digest, "owner_table": owner_table,
             "owner_id": owner_id, "field": field_name, "data_key_id": data_key_id}
            for digest in sorted(index.digests(value))]


def set_index_values(index: BlindIndex, values: Iterable[str | None], *, owner_table: str,
                     owner_id: uuid.UUID, field_name: str, data_key_id: uuid.UUID) -> None:
    """Replace what ``index`` holds for ``owner_table.field_name`` of one record with ``values``
    (several for a name and its aliases). Flushes first, so the record and its key exist."""
    db.session.flush()
    table = BlindIndexEntry.__table__
    db.session.execute(delete(table).where(
        table.c.index_name == index.name, table.c.owner_table == owner_table,
        table.c.owner_id == owner_id, table.c.field == field_name))
    rows: dict[object, dict[str, object]] = {}  # by digest: a tag of two values is one row
    for value in values:
        for row in entries_for(index, value, owner_table=owner_table, owner_id=owner_id,
                               field_name=field_name, data_key_id=data_key_id):
            rows[row["digest"]] = row
    if rows:
        db.session.execute(insert(table), list(rows.values()))
