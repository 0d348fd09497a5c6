"""Field capture's settings, read at start-up into the app's config (``app.config`` names this
module once) and read back here, so the rules that use them name no config key.

- ``AMANA_FIELD_INTAKE_MAX_AGE_DAYS`` (default 7): an envelope made on a device longer ago than
  this is refused (``expired``) when it is uploaded.
- ``AMANA_FIELD_SYNC_LIMIT`` (default ``60 per 10 minutes``): uploads per user (each of at most
  ``MAX_ENVELOPES`` envelopes), counted in ``RATELIMIT_STORAGE_URI``.
- ``FIELD_SYNC_MAX_BYTES`` (not a setting: derived from the envelope limits): the body an upload
  may have (``app.security.larger_body``); nginx lets ``/field/sync`` through with as much.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app

from app.field.models import PAYLOAD_MAX

#: Envelopes in one upload at most (the device sends its backlog in batches of this size).
MAX_ENVELOPES = 20
#: Longest opened submission in bytes: ``PAYLOAD_MAX`` characters of JSON text, Arabic text
#: taking two bytes a character in UTF-8.
PLAINTEXT_MAX_BYTES = 2 * PAYLOAD_MAX
#: Longest ``ct`` (base64url without padding) of an envelope: that plaintext and the AEAD tag.
CT_MAX_CHARS = math.ceil((PLAINTEXT_MAX_BYTES + 16) * 4 / 3)
#: Room for one envelope's other members and the JSON around it.
_ENVELOPE_OVERHEAD = 1024
#: An ``at`` this far ahead of the server's clock is refused (a device clock set wrong).
FUTURE_SLACK = timedelta(minutes=10)


def field_settings(int_env: Callable[[str, int], int],
                   limit_env: Callable[[str, str], str]) -> dict[str, Any]:
    """The field settings from the environment (``app.config`` passes its own readers, which
    refuse a bad value with one line)."""
    return {
        "FIELD_INTAKE_MAX_AGE_DAYS": int_env("AMANA_FIELD_INTAKE_MAX_AGE_DAYS", 7),
        "FIELD_SYNC_LIMIT": limit_env("AMANA_FIELD_SYNC_LIMIT", "60 per 10 minutes"),
        "FIELD_SYNC_MAX_BYTES": MAX_ENVELOPES * (CT_MAX_CHARS + _ENVELOPE_OVERHEAD),
    }


def max_age() -> timedelta:
    """How old an envelope may be when it is uploaded."""
    return timedelta(days=int(current_app.config["FIELD_INTAKE_MAX_AGE_DAYS"]))


def max_age_days() -> int:
    """The same in days (``setup.json`` tells the device, which warns before it is too late)."""
    return int(current_app.config["FIELD_INTAKE_MAX_AGE_DAYS"])


def sync_limit() -> str:
    """Uploads per user (Flask-Limiter's notation)."""
    return str(current_app.config["FIELD_SYNC_LIMIT"])
