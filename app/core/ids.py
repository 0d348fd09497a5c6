"""Parsing record ids typed or posted by users: a malformed id is simply "no id"."""

from __future__ import annotations

import re
import uuid

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}$")


def parse_uuid(value: object) -> uuid.UUID | None:
    """The UUID in ``value``, or None when it is not one (checked first, nothing to catch)."""
    text = str(value or "").strip()
    return uuid.UUID(text) if _UUID.match(text) else None
