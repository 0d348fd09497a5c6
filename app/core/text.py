"""Text typed by users, in one place: what counts as blank, and how long each kind may be.

Forms (``Length(max=...)``), services and the sealed columns (``max_length=...``) read the
limits from here, so a form never accepts more than its column keeps.
"""

from __future__ import annotations

from typing import TypeVar, cast

T = TypeVar("T")

NAME_MAX = 120        # a name typed in a form: a person's, an organisation's, a site's, a service's
TEXT_MAX = 4000       # a paragraph: a location, a goal, a note on a visit, a referral message
LONG_TEXT_MAX = 20000  # a long text: an incident narrative, assessment notes, a case note


def blank_to_none(value: T, *, strip: bool = True) -> T | None:
    """None for a missing or blank text (nothing but white space), so that nothing empty is
    stored; otherwise the text, trimmed (``strip=False``: as typed). Other values pass as
    they are."""
    if value is None:
        return None
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    return cast(T, value.strip()) if strip else value
