"""The case area's use of the encryption layer: blind-index candidates and crypto-shredding.

Sealed values themselves are plain attributes of the models (``app.crypto.fields``); every
record of a case shares the case's data key, so destroying that one key makes the whole case,
and any saved copy of its rows, unreadable.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from app.audit.actions import Action, ObjectType
from app.cases.models import PERSON_NAME, PHONE, Case
from app.crypto.blind_index import candidate_ids
from app.crypto.envelope import shred


def candidates(*, name: str | None = None, phone: str | None = None) -> set[uuid.UUID]:
    """Case ids whose name/alias or phone may match (to be confirmed after decryption)."""
    found: set[uuid.UUID] = set()
    if name:
        found.update(candidate_ids(PERSON_NAME, name, Case.__tablename__))
    if phone:
        found.update(candidate_ids(PHONE, phone, Case.__tablename__))
    return found


def shred_case(case: Case, reason: str) -> None:
    """Destroy the case's data key and blind-index entries (audited by the caller's erase)."""
    shred(case.data_key, object_type=ObjectType.CASE, object_id=case.id, reason=reason,
          action=Action.KEYS_SHRED)


T = TypeVar("T")


def clean(value: T) -> T | None:
    """Empty text is stored as nothing (no ciphertext for an empty field)."""
    if isinstance(value, str) and not value.strip():
        return None
    return value
