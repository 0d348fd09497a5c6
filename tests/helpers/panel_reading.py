"""Reading home-page panels in tests: one panel's section, the rows of its table as text, its
links, and the home-page audit events of an account."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

from sqlalchemy import select

from app.audit.actions import Action
from app.audit.models import AuditEvent
from app.db import db

# Bidirectional isolation marks the templates put around names, codes and numbers.
_MARKS = re.compile("[\u2066\u2067\u2068\u2069\u200e\u200f]")


def section(page: str, key: str) -> str | None:
    """The HTML of the home panel ``key`` (``<section id="home-{key}">``), or None if absent."""
    found = re.search(rf'<section[^>]*\bid="home-{re.escape(key)}"[^>]*>(.*?)</section>', page,
                      re.S)
    return found.group(1) if found else None


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[tuple[str, str]] = []
        self._cell: list[str] | None = None
        self._body = False
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body:
            self.rows.append([])
        elif tag == "td" and self._body:
            self._cell = []
        elif tag == "a":
            self._href, self._link_text = dict(attrs).get("href") or "", []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(clean("".join(self._cell)))
            self._cell = None
        elif tag == "a" and self._href is not None:
            self.links.append((clean("".join(self._link_text)), self._href))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None:
            self._link_text.append(data)


def clean(text: str) -> str:
    """Text as a reader sees it: isolation marks gone, spaces collapsed."""
    return " ".join(_MARKS.sub("", text).split())


def rows(html: str) -> list[list[str]]:
    """The text of each cell of each body row of the tables in ``html``."""
    parser = _Cells()
    parser.feed(html)
    return parser.rows


def links(html: str) -> list[tuple[str, str]]:
    """Each link in ``html``: (its text, its address)."""
    parser = _Cells()
    parser.feed(html)
    return parser.links


_INLINE = re.compile(r"</?(?:a|bdi|span|strong|em|code)\b[^>]*>")


def text(html: str) -> str:
    """The visible text of ``html``: inline tags dropped, the others read as a space."""
    return clean(re.sub(r"<[^>]+>", " ", _INLINE.sub("", html)))


def home_views(app, user_id: str) -> int:
    """How many times the account's home page was recorded as shown."""
    with app.app_context():
        return len(db.session.execute(
            select(AuditEvent.seq).where(AuditEvent.action == Action.HOME_VIEW.value,
                                         AuditEvent.actor_id == uuid.UUID(user_id))).all())
