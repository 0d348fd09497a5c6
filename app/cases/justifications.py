"""Justifications for break-glass access and consent overrides: a reason code, plus free text.

A justification is a code from a short list per action (``other`` among them) and optional free
text (required with ``other``). The audit trail, and so the auditor's pages, alerts and CSV,
gets only the code and the text's length (``other;text=43``). The text itself is sealed under
the case's data key beside the grant or the referral and shown to supervisors only; erasing the
case destroys it with everything else of the case.

Free text is refused when it holds the case's own name, alias or phone number. The check uses
the case's blind-index entries (``app.crypto.blind_index``): nothing of the case is decrypted,
and the text is compared only in the form of truncated keyed digests. See ``identifies`` for
precisely what that catches and what it does not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases.models import BreakGlassGrant, Case
from app.core.text import blank_to_none
from app.crypto.blind_index import PERSON_NAME, PHONE
from app.crypto.models import BlindIndexEntry
from app.crypto.normalise import normalise_text
from app.crypto.readable import readable
from app.db import db, transaction

# Stable codes (stored in the trail and on grants and referrals; never renamed). Labels translate.
BREAK_GLASS_REASONS: dict[str, Any] = {
    "imminent_risk": _l("Immediate risk to the survivor's safety"),
    "medical_emergency": _l("Urgent medical care is needed"),
    "survivor_at_other_site": _l("The survivor came to a site outside the case's own"),
    "team_unreachable": _l("The case's caseworker and supervisor cannot be reached"),
    "other": _l("Other (explain below)"),
}
OVERRIDE_REASONS: dict[str, Any] = {
    "risk_to_life": _l("Immediate danger to the survivor's life"),
    "child_protection": _l("Child protection: in the child's best interest"),
    "mandatory_reporting": _l("Required by law (mandatory reporting)"),
    "cannot_consent": _l("The survivor cannot give consent now (for example unconscious)"),
    "other": _l("Other (explain below)"),
}
TEXT_MAX = 480
OTHER_MIN = 20  # "other" needs at least a sentence
# Longest run of words tried as a name, and the digit counts tried as a phone number.
MAX_NAME_WORDS = 8
PHONE_DIGITS = range(6, 18)  # 6 (the shortest phone the intake form takes) to 17 (00 + E.164)
# Digits joined by what people put inside a phone number: spaces, dots, dashes, slashes, brackets.
_DIGIT_RUN = re.compile(r"\+?[0-9]+(?:[ \t().\-/]{1,3}[0-9]+)*", re.ASCII)
_CASE_FIELDS = tuple(n for n, f in Case.__sealed_fields__.items() if f.index is not None)
# The check is probabilistic (16-bit digests): a clean text is now and then refused, so the
# message says "seems to" and offers rephrasing rather than accusing the writer.
IDENTIFYING = _l("The explanation seems to contain the survivor's name, alias or phone number. "
                 "Remove it (or, if it does not, rephrase). Nothing was saved. The case number "
                 "and the reason chosen above are enough to identify the case for the record.")


class JustificationError(ValueError):
    """A refused justification; ``field`` is ``code`` or ``text`` (where the message belongs)."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field


@dataclass(frozen=True)
class Justification:
    """A reason code and the optional free text that goes with it."""

    code: str
    text: str | None

    def audit_reason(self) -> str:
        """What the audit trail holds: the code and the text's length, never the text."""
        return f"{self.code};text={len(self.text or '')}"


def choices(reasons: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Select options: a blank prompt, then the codes with their labels."""
    return [("", _l("Choose a reason"))] + list(reasons.items())


def parse(reasons: Mapping[str, Any], code: str | None, text: str | None) -> Justification:
    """A justification from what was typed; refused unless the code is one of ``reasons`` and
    the text fits (``other`` needs a sentence)."""
    code = (code or "").strip()
    clean = blank_to_none(text)
    if code not in reasons:
        raise JustificationError("code", _l("Choose a reason from the list."))
    if clean is not None and len(clean) > TEXT_MAX:
        raise JustificationError("text", _l("Keep the explanation under %(n)d characters.",
                                            n=TEXT_MAX))
    if code == "other" and (clean is None or len(clean) < OTHER_MIN):
        raise JustificationError("text", _l("With “Other”, explain in a full sentence (%(a)d to "
                                            "%(b)d characters).", a=OTHER_MIN, b=TEXT_MAX))
    return Justification(code, clean)


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def _name_grams(text: str) -> set[str]:
    words = normalise_text(text).split()
    return {" ".join(words[i:i + n]) for i in range(len(words))
            for n in range(1, MAX_NAME_WORDS + 1) if i + n <= len(words)}


def _phone_candidates(text: str) -> set[str]:
    found: set[str] = set()
    for run in _DIGIT_RUN.findall(_ascii_digits(unicodedata.normalize("NFKC", text))):
        digits = "".join(c for c in run if c.isdigit())
        for start in range(len(digits)):
            for size in PHONE_DIGITS:
                if start + size > len(digits):
                    break
                part = digits[start:start + size]
                found.add(part)
                if start == 0 and run.startswith("+"):
                    found.add("+" + part)  # "+44 …" is not a Libyan number "44 …"
    return found


def identifies(case: Case, text: str) -> bool:
    """Whether ``text`` holds the case's full name, alias or phone, judged on blind indexes.

    Every run of 1 to ``MAX_NAME_WORDS`` consecutive words of the text is normalised as the
    name index normalises names, and every run of 6 to 17 consecutive digits (of digit groups
    joined by spaces, dots, dashes, slashes or brackets) as the phone index normalises phones;
    their digests are compared with the case's own index entries for ``full_name``, ``alias``
    and ``phone``. Nothing is decrypted.

    Caught: the whole name or alias as stored, in any case, with or without accents or Arabic
    diacritics, in any spelling variant the normaliser folds (أ/إ/آ/ا, ة/ه, ى/ي, ؤ/و, ئ/ي,
    tatweel, Persian yeh and kaf), with punctuation between its words (``Ben-Ali`` is
    ``Ben Ali``), anywhere in a sentence; the phone in any grouping and with +218, 00218, a
    leading 0 or no prefix, in Latin or Arabic-Indic digits, even inside a longer digit run.
    Not caught: part of a name (a first name alone is caught only when it is the whole alias
    or the whole name on record), a name with a typo, another transliteration (Latin for a
    name stored in Arabic), words run together or split differently (``Abdulrahman`` for
    ``Abdul Rahman``), a name of more than ``MAX_NAME_WORDS`` words, a foreign number written
    without its + or 00, a phone spelt in words or split by other text, and anything about
    anyone other than the survivor (relatives, perpetrators, places).

    Digests are truncated (16 bits), so an unrelated run of words matches one index entry with
    a chance of 1 in 65,536: a 12-word sentence (about 80 runs, two name entries) is wrongly
    refused about once in 500 tries, a full 480-character text about once in 50; rephrasing
    helps. A refusal confirms to its author that the words they typed are the survivor's, so
    every refusal is audited as a denied attempt on the case.
    """
    entries = db.session.execute(
        select(BlindIndexEntry.index_name, BlindIndexEntry.digest).where(
            BlindIndexEntry.owner_table == Case.__tablename__,
            BlindIndexEntry.owner_id == case.id,
            BlindIndexEntry.field.in_(_CASE_FIELDS))).all()
    held = {(name, bytes(digest)) for name, digest in entries}
    if not held:
        return False
    for index, values in ((PERSON_NAME, _name_grams(text)), (PHONE, _phone_candidates(text))):
        if any(index.name == name for name, _d in held):
            for value in values:
                digest = index.digest(value)
                if digest is not None and (index.name, digest) in held:
                    return True
    return False


def check(action: Action, case: Case, justification: Justification) -> None:
    """Refuse (audited, without the text) free text that names the case's survivor."""
    if justification.text and identifies(case, justification.text):
        with transaction():
            record(action, object_type=ObjectType.CASE, object_id=case.id, outcome=Outcome.DENIED,
                   reason=f"identifying_text;{justification.audit_reason()}")
        raise JustificationError("text", IDENTIFYING)


def may_read_text(user: User) -> bool:
    """Supervisors read justification texts (never auditors, never the recipient service)."""
    return can(user, Permission.CASE_APPROVE)


@dataclass(frozen=True)
class GrantView:
    """One break-glass grant as the case page lists it."""

    grant: BreakGlassGrant
    label: Any
    text: str | None


def grants_for(user: User, case: Case) -> list[GrantView]:
    """The case's break-glass grants with their justification, for supervisors (else empty)."""
    if not may_read_text(user):
        return []
    grants = db.session.execute(
        select(BreakGlassGrant).where(BreakGlassGrant.case_id == case.id)
        .order_by(BreakGlassGrant.opened_at.desc())).scalars()
    return [GrantView(g, BREAK_GLASS_REASONS.get(g.reason_code, g.reason_code), v["justification"])
            for g, v in readable(grants, ("justification",))]
