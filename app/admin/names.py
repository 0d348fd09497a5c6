"""Names that cannot be confused: the rules for usernames and display names.

A username is what people type and what the audit trail shows, so it is limited to a small
ASCII set that looks the same in every font: lower-case Latin letters, digits, ``.``, ``-`` and
``_``, starting and ending with a letter or digit (``dеmo-admin`` with a Cyrillic "е" is refused).

A display name may be written in Arabic or Latin script (letters, their combining marks, digits,
spaces, ``.``, ``-`` and ``'``). Two accounts may not have names that look alike: each name is reduced
to its confusable *skeleton* (Unicode TR39 section 4, computed by ICU's SpoofChecker, the
reference implementation) after NFKC and case folding and whitespace collapsing, and a name whose
skeleton equals another account's username or display-name skeleton is refused. ``Amal`` and
``AmaI`` (capital i), ``demo`` and ``dern0``, ``فاطمة`` and its presentation forms all collide.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from functools import lru_cache

import icu
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.models import User
from app.db import db

USERNAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
DISPLAY_PUNCTUATION = frozenset(" .-'")


class NameRefused(ValueError):
    """A name refused; the message is safe to show."""


@lru_cache(maxsize=1)
def _checker() -> icu.SpoofChecker:
    return icu.SpoofChecker()


def skeleton(text: str) -> str:
    """The TR39 confusable skeleton of ``text`` after NFKC, case folding and space collapsing."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    # Case matters to how a letter looks (a capital "I" is an "l", a small "i" is not), so the
    # skeleton comes first; folding it and taking the skeleton again then makes "AMAL", "Amal"
    # and "AmaI" one name.
    first = str(_checker().getSkeleton(0, text)).casefold()
    return str(_checker().getSkeleton(0, first))


def clean_username(name: str) -> str:
    """The stored form of a username (case-folded), or ``NameRefused`` if it is not in the set."""
    folded = name.strip().casefold()
    if not USERNAME_RE.match(folded):
        raise NameRefused(_("Username: 1 to 64 lower-case Latin letters (a-z), digits, dots, "
                           "dashes or underscores, starting and ending with a letter or digit."))
    return folded


def _script_ok(ch: str) -> bool:
    if ch in DISPLAY_PUNCTUATION:
        return True
    category = unicodedata.category(ch)
    if category == "Nd":  # "Team 2", in European or Arabic-Indic digits
        return ch.isascii() or unicodedata.name(ch, "").startswith(
            ("ARABIC-INDIC", "EXTENDED ARABIC-INDIC"))
    if category[0] not in "LM":
        return False
    label = unicodedata.name(ch, "")
    return label.startswith(("LATIN ", "ARABIC ")) or (
        category[0] == "M" and label.startswith(("COMBINING ", "ARABIC ")))


def clean_display_name(name: str) -> str:
    """The display name trimmed, or ``NameRefused`` if it uses other scripts or symbols."""
    text = " ".join(unicodedata.normalize("NFC", name).split())
    if not text or len(text) > 120:
        raise NameRefused(_("Display name: 1 to 120 characters."))
    if not all(_script_ok(c) for c in text) or not any(unicodedata.category(c)[0] == "L"
                                                       for c in text):
        raise NameRefused(_("Display name: Arabic or Latin letters, digits, spaces, dots, "
                            "dashes and apostrophes only."))
    return text


def check_unconfusable(username: str, display_name: str, *, existing: uuid.UUID | None) -> None:
    """Refuse names that look like another account's username or display name."""
    wanted = {skeleton(username), skeleton(display_name)}
    stmt = select(User.id, User.username, User.display_name)
    if existing is not None:
        stmt = stmt.where(User.id != existing)
    for _id, other_username, other_display in db.session.execute(stmt):
        if skeleton(other_username) in wanted:
            raise NameRefused(_("This name looks like another account's username; choose one "
                               "that cannot be mistaken for it."))
        if skeleton(other_display) in wanted:
            raise NameRefused(_("This name looks like another account's display name; choose "
                               "one that cannot be mistaken for it."))
