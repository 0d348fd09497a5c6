"""The case area's use of the encryption layer: crypto-shredding (searches use
``app.crypto.search.find``).

Sealed values themselves are plain attributes of the models (``app.crypto.fields``); every
record of a case shares the case's data key, so destroying that one key makes the whole case,
and any saved copy of its rows, unreadable.
"""

from __future__ import annotations

from typing import TypeVar

from app.audit.actions import Action, ObjectType
from app.cases.models import Case
from app.core.text import blank_to_none
from app.crypto.envelope import shred


def shred_case(case: Case, reason: str) -> None:
    """Destroy the case's data key and blind-index entries (audited by the caller's erase)."""
    shred(case.data_key, object_type=ObjectType.CASE, object_id=case.id, reason=reason,
          action=Action.KEYS_SHRED)


T = TypeVar("T")


def clean(value: T) -> T | None:
    """Empty text is stored as nothing (no ciphertext for an empty field)."""
    return blank_to_none(value, strip=False)
