"""Normal forms for blind indexes: two spellings a person would call the same give one string.

``normalise_text`` (names and free words): Unicode NFKC, case-folded, accents and Arabic
diacritics (harakat, tanween, shadda, sukun, dagger alef, Quranic marks) removed, tatweel
removed, alef forms (أ إ آ ٱ) to ا, hamza on waw or yeh to the bare letter, taa marbuta (ة) to
ha (ه), alef maqsura (ى) and Persian yeh (ی) to yeh (ي), Persian kaf (ک) to kaf (ك), every
decimal digit (Arabic-Indic, Persian, ...) to ASCII, punctuation and invisible joiners to
spaces, runs of whitespace to one space.

``normalise_phone``: the digits only, with the country code made explicit: ``+218 91 …``,
``00218 91 …``, ``091 …`` and ``91 …`` are all ``21891…`` for the default country (Libya).

``normalise_date`` (dates of birth): the ISO form ``YYYY-MM-DD``.

``normalise_code`` (case numbers and similar): letters and digits only, case-folded.
"""

from __future__ import annotations

import unicodedata
from datetime import date

DEFAULT_COUNTRY_CODE = "218"  # Libya; national numbers have 9 significant digits
_LETTERS = str.maketrans({
    "\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627",  # alef forms
    "\u0672": "\u0627", "\u0673": "\u0627",
    "\u0624": "\u0648",  # waw with hamza
    "\u0626": "\u064a",  # yeh with hamza
    "\u0629": "\u0647",  # taa marbuta -> ha
    "\u0649": "\u064a", "\u06cc": "\u064a", "\u06d2": "\u064a",  # alef maqsura, Persian yeh
    "\u06a9": "\u0643",  # Persian kaf
    "\u0640": None,  # tatweel
})


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def normalise_text(value: str) -> str:
    """The comparable form of a name or word (see the module docstring)."""
    text = unicodedata.normalize("NFKC", value).casefold()
    # Decompose so accents and Arabic marks (including hamza carried above or below an alef)
    # become separate combining characters, then drop them.
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = unicodedata.normalize("NFC", text).translate(_LETTERS)
    out = []
    for c in _ascii_digits(text):
        cat = unicodedata.category(c)
        if cat[0] in "PZS" or cat == "Cc":
            out.append(" ")
        elif cat in ("Cf", "Mn", "Me"):
            continue  # zero-width joiners, bidi marks, stray combining marks
        else:
            out.append(c)
    return " ".join("".join(out).split())


def normalise_phone(value: str, country_code: str = DEFAULT_COUNTRY_CODE) -> str:
    """Digits of a phone number with its country code (``""`` if there are no digits)."""
    text = _ascii_digits(unicodedata.normalize("NFKC", value)).strip()
    digits = "".join(c for c in text if c.isascii() and c.isdigit())
    if not digits:
        return ""
    if text.startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return country_code + digits[1:]
    if digits.startswith(country_code) and len(digits) > len(country_code) + 8:
        return digits
    return country_code + digits


def normalise_date(value: str) -> str:
    """A calendar date in ISO form (``2001-02-03``), digits made ASCII; ``""`` if it is not one."""
    text = _ascii_digits(unicodedata.normalize("NFKC", value)).strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return ""


def normalise_code(value: str) -> str:
    """Letters and digits of a code, case-folded: ``TRI-2026/0001`` is ``tri20260001``."""
    text = _ascii_digits(unicodedata.normalize("NFKC", value)).casefold()
    return "".join(c for c in text if c.isalnum())
