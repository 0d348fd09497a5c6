"""Template filters that make values read right in both languages.

- ``ltr``: a code, case number, number range or id, isolated left-to-right
  (``<bdi dir="ltr">``): ``{{ case.case_number | ltr }}`` shows TRP-2026-0001 as written on an
  Arabic page.
- ``bdi``: text typed by a user (a name, a note, a narrative), isolated with its own direction
  (``<bdi>``): a Latin sentence on an Arabic page keeps its full stop at its end, and an
  Arabic name in an English list does not pull the punctuation after it.
- ``ranges``: translated text with numeric ranges in it ("(girls 15–17, women 18–19)"), each
  range isolated left-to-right (LRI/PDI, ``app.core.bidi.isolate_numbers``) on a right-to-left
  page.
- ``number``: a number in the user's locale (``format_decimal``; Latin digits in both
  languages, see ``app.i18n``).

Dates go through ``dateformat`` / ``datetimeformat`` (``app.ui``); times in the organisation's
zone through ``app.localtime``.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import format_decimal
from markupsafe import Markup

from app.core.bidi import isolate_numbers_if_rtl


def ltr(value: object) -> Markup:
    """``value`` as left-to-right isolated HTML (empty for None or an empty string)."""
    if value is None or value == "":
        return Markup("")
    return Markup('<bdi dir="ltr">{}</bdi>').format(value)


def bdi(value: object) -> Markup:
    """User-typed ``value`` isolated with its own direction (empty for None or "")."""
    if value is None or value == "":
        return Markup("")
    return Markup("<bdi>{}</bdi>").format(value)


def ranges(value: object) -> str:
    """Text whose numeric ranges keep their order in right-to-left text ("Girls 15–17")."""
    return isolate_numbers_if_rtl(value) if value is not None else ""


def number(value: int | float | None) -> str:
    """``value`` in the user's locale (grouping and decimal signs); "" for None."""
    if value is None:
        return ""
    return str(format_decimal(value))


def install_formatting(app: Flask) -> None:
    """Register the filters."""
    app.jinja_env.filters.update(ltr=ltr, bdi=bdi, number=number, ranges=ranges)
