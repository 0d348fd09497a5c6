"""Right-to-left text that keeps numbers, ranges and codes in their order.

In an Arabic paragraph the Unicode bidirectional algorithm lays out "18–25" as "25–18": the
en dash between two numbers takes the paragraph's right-to-left direction. Isolating such a
value as left-to-right (LRI ... PDI, or ``<bdi dir="ltr">`` in HTML) keeps it as written
without changing the words around it. Text typed by users (names, notes) is isolated with
its own direction (FSI ... PDI, ``<bdi>``), so a Latin sentence inside an Arabic page keeps
its full stop at its end.
"""

from __future__ import annotations

import re

from flask_babel import LazyString, get_locale

LRI = "\u2066"  # left-to-right isolate
RLI = "\u2067"  # right-to-left isolate
FSI = "\u2068"  # first-strong isolate: the direction of the text's first letter
PDI = "\u2069"  # pop directional isolate
ISOLATES = frozenset({LRI, RLI, FSI, PDI})

# Numbers joined by dashes or slashes (a range such as 18–25, 0–3, 2026-01-31, 3/4), in any
# script's digits.
_NUMERIC_RUN = re.compile(r"\d+(?:\s*[\u2010-\u2015\-/]\s*\d+)+")


def isolate_numbers(text: object) -> str:
    """``text`` with every numeric range isolated left-to-right ("0–3 days" keeps "0–3"
    as written whatever the words around it). Text already holding isolates is left alone."""
    value = str(text)
    if any(ch in ISOLATES for ch in value):
        return value
    return _NUMERIC_RUN.sub(lambda m: f"{LRI}{m.group(0)}{PDI}", value)


def isolate_ltr(text: object) -> str:
    """``text`` (a code, a number, a case number) isolated as left-to-right."""
    value = str(text)
    return f"{LRI}{value}{PDI}" if value else value


def isolate_auto(text: object) -> str:
    """``text`` typed by a user, isolated with the direction of its first letter."""
    value = str(text)
    return f"{FSI}{value}{PDI}" if value else value


def right_to_left() -> bool:
    """Whether the language of this response is written right to left (Arabic)."""
    locale = get_locale()
    return locale is not None and locale.character_order == "right-to-left"


def isolate_numbers_if_rtl(text: object) -> str:
    """``isolate_numbers(text)`` in a right-to-left language; ``text`` as it is otherwise (a
    range in a left-to-right paragraph already reads as written, and the label a person or a
    screen reader looks for stays exactly the translated text)."""
    return isolate_numbers(text) if right_to_left() else str(text)


def ranges_kept(text: object) -> LazyString:
    """A lazily translated ``text`` (``_l(...)``) whose numeric ranges are isolated when it is
    shown in a right-to-left language (``isolate_numbers`` after translation): the msgid and
    its translation stay plain text."""
    return LazyString(isolate_numbers_if_rtl, text)
