"""An incident form as a caseworker fills it in tests: every question answered (nothing is
chosen in advance any more), one perpetrator, the age given."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from app.cases import gbvims

PERPETRATOR_KEYS = ("sex", "age_group", "relationship", "occupation")


def perpetrator_fields(n: int, sex: str = "unknown", age_group: str = "unknown",
                       relationship: str = "unknown", occupation: str = "unknown") -> dict[str, str]:
    """The form fields of perpetrator ``n`` (0, 1 or 2)."""
    values = (sex, age_group, relationship, occupation)
    return {f"perpetrators-{n}-{k}": v for k, v in zip(PERPETRATOR_KEYS, values, strict=True)}


def incident_form(*yes: str, **over: Any) -> dict[str, Any]:
    """The incident form's answers: the classification questions in ``yes`` answered yes, the
    others no; no exchange, abduction or harmful practice; age 30; one unknown perpetrator;
    ``over`` replaces any field (``perpetrators-0-relationship``...)."""
    data: dict[str, Any] = {
        "incident_date": "2026-11-02", "reported_date": "2026-11-20",
        "location_type": "camp_settlement", "location_detail": "",
        **{k: "yes" if k in yes else "no" for k in gbvims.answered(*yes)},
        "exchange": "no", "abducted": "no", "harmful_practice": "no", "harmful_practice_type": "",
        "survivor_age_at_incident": "30", "perpetrator_count": "1", **perpetrator_fields(0),
        "time_of_day": "unknown", "displacement_stage": "during_refuge", "narrative": "",
        "perpetrator_details": ""}
    data.update(over)
    return data


class _Shown(HTMLParser):
    """The values a browser would send for the first form of a page posting to itself."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._first: str | None = None
        self._textarea: str | None = None
        self._text = ""
        self._inside = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            # The page's own form posts back to the page (no action); others (the menu's
            # log-out, for one) are skipped.
            self._inside = "action" not in a and not self._done
        if not self._inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("radio", "checkbox"):
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "on")
            else:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first = a["name"], None
        elif tag == "option" and self._select is not None:
            if self._first is None:
                self._first = a.get("value", "")
                self.values.setdefault(self._select, self._first)
            if "selected" in a:
                self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._inside:
            self._inside, self._done = False, True
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.values[self._textarea] = self._text.removeprefix("\n")
            self._textarea = None


def shown_values(html: str) -> dict[str, str]:
    """What a browser sends back, untouched, from a page's first form: its inputs' values,
    checked radios and boxes, each select's selected option (its first when none is) and
    textareas (the submit button left out)."""
    parser = _Shown()
    parser.feed(html)
    return parser.values
