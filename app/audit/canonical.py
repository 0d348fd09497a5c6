"""The bytes each audit MAC covers, and the MAC itself.

An event's canonical form is its twelve fields as text, in a fixed order, joined by the unit
separator (U+001F). The sequence number comes first as decimal digits; every other field is
empty when it is NULL and otherwise the byte U+001D followed by its text, so that NULL and the
empty string differ. Times are UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` and UUIDs are 32 lowercase hex
digits (the form SQLite stores; PostgreSQL is asked for the same text when verifying).

Values may not contain U+001F or NUL (``record`` refuses them), so a canonical form always has
exactly eleven separators and splits back into its fields one way only. The MAC is
HMAC-SHA256(key, previous MAC || canonical form).

This module imports no Flask code: verification worker processes load it on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS_MAC = b"\x00" * 32
SEP = "\x1f"
PRESENT = "\x1d"
FORBIDDEN = ("\x1f", "\x00")
CANONICAL_FIELDS = (
    "seq", "occurred_at", "actor_id", "actor_role", "organisation_id", "action", "object_type",
    "object_id", "outcome", "reason", "request_id", "client_address",
)
UUID_FIELDS = frozenset({"actor_id", "organisation_id"})


class CanonicalError(ValueError):
    """A field cannot be put in the trail (wrong type or a forbidden character)."""


def time_text(value: datetime) -> str:
    """A timestamp as canonical text: UTC, microseconds, no zone suffix."""
    if value.tzinfo is None:
        raise CanonicalError("audit times must be timezone-aware")
    v = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - fixed widths, as SQLite stores it
        v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)


def uuid_text(value: uuid.UUID | str) -> str:
    """A UUID as 32 lowercase hex digits."""
    return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex


def field_texts(fields: Mapping[str, Any]) -> list[str | None]:
    """The eleven fields after ``seq`` as canonical text (None for NULL)."""
    out: list[str | None] = []
    for name in CANONICAL_FIELDS[1:]:
        value = fields.get(name)
        if value is None:
            out.append(None)
        elif name == "occurred_at":
            out.append(time_text(value))
        elif name in UUID_FIELDS:
            out.append(uuid_text(value))
        else:
            text = str(value)
            if any(ch in text for ch in FORBIDDEN):
                raise CanonicalError(f"audit field {name} holds a forbidden control character")
            out.append(text)
    return out


def encode(seq: int, texts: Sequence[str | None]) -> bytes:
    """Join a sequence number and eleven field texts into the canonical bytes."""
    if len(texts) != len(CANONICAL_FIELDS) - 1:
        raise CanonicalError("an audit event has eleven fields after its sequence number")
    parts = [str(int(seq))]
    parts.extend("" if t is None else PRESENT + t for t in texts)
    return SEP.join(parts).encode("utf-8")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes an event's MAC covers."""
    return encode(int(fields["seq"]), field_texts(fields))


def compute_mac(key: bytes, prev_mac: bytes, fields: Mapping[str, Any]) -> bytes:
    """HMAC-SHA256 over the previous MAC followed by the canonical form."""
    return hmac.digest(key, prev_mac + canonical(fields), "sha256")


def hmac_pads(key: bytes) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Fresh inner and outer SHA-256 states of HMAC under ``key`` (RFC 2104, pads applied).

    HMAC(key, m) = outer().update(inner().update(m).digest()).digest(). Verification hashes
    millions of events; starting each from these states skips the key setup and the ``hmac``
    module's Python wrappers. The tests check the result equals ``hmac.digest``.
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(64, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    return inner.copy, outer.copy


def mac_of(key: bytes, prev_mac: bytes, seq: int, texts: Sequence[str | None]) -> bytes:
    """The MAC of an event given as stored text (used when diagnosing a break)."""
    return hmac.digest(key, prev_mac + encode(seq, texts), "sha256")
