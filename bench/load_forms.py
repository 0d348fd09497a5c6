"""What the load test's simulated people read from pages and type into forms (bench/load_users.py;
tests/test_bench_load.py sends the same through the test client, so a page that changes its
forms breaks that test, not a load run minutes in). Standard library only: importing this
does not import Locust, which patches the standard library for gevent."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

CASE_LINK = re.compile(r'href="/cases/([0-9a-f-]{36})"')
NOTE = "Load-test note, synthetic: met at the site, agreed next steps."
# The intake form's answers besides the (synthetic) name and age.
INTAKE = {"sex": "female", "displacement_status": "idp", "nationality_group": "national",
          "disability": "unknown"}

# Consent for services, recorded on a new case (an adult's): without it only intake is possible.
CONSENT = {"kind": "services", "granted": "yes", "given_by": "survivor", "method": "verbal"}


def session_values(options: dict[str, list[str]], new: int) -> dict[str, str]:
    """A safe-space session of 15 participants, ``new`` of them new, of the first activity
    the form offers (``options``: the form's choices)."""
    return {"activity_type": next(v for v in options["activity_type"] if v),
            "topic": "Load-test session", "duration_minutes": "90", "girls_15_19": "4",
            "women_20_24": "5", "women_25_49": "6", "new_participants": str(new),
            "returning_participants": str(15 - new), "notes": "Synthetic notes, no names."}


class Forms(HTMLParser):
    """The POST forms of a page: action -> fields a browser would send (hidden and preset
    values, the chosen or first option of a select, checked boxes), and each select's options."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict[str, Any]] = {}
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = {"fields": {}, "options": {}}
            self.forms[a.get("action") or ""] = self._form
            return
        form, name = self._form, a.get("name")
        if form is not None and tag == "option" and self._select is not None:
            value = a.get("value") or ""
            form["options"][self._select].append(value)
            if "selected" in a or self._select not in form["fields"]:
                form["fields"][self._select] = value
            return
        if form is None or not name or "disabled" in a:
            return
        kind = (a.get("type") or "text").lower()
        if tag == "input" and kind not in ("submit", "button", "reset", "file"):
            if kind not in ("checkbox", "radio") or "checked" in a:
                form["fields"].setdefault(name, a.get("value") or "")
        elif tag == "select":
            self._select = name
            form["options"][name] = []
        elif tag == "textarea":
            form["fields"].setdefault(name, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def form(html: str, action: str) -> dict[str, Any]:
    """The form posting to ``action`` on the page, else the one posting back to the page
    itself (no ``action``); it must be there."""
    forms = Forms(html).forms
    found = forms.get(action, forms.get(""))
    if found is None:
        raise LookupError(f"no form posting to {action}")
    return found


