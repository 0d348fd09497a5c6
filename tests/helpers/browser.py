"""The browser tests' login: the login page, then the two-step code, through labels and
buttons as a person would (Playwright is imported only by the browser tests)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.helpers.codes import live_code
from tests.helpers.login import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page


def log_in(page: Page, username: str, secret: str, password: str = PASSWORD) -> None:
    """Log in as ``username`` (TOTP ``secret``) and wait for the home page."""
    page.goto("/auth/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/auth/mfa$"))
    page.get_by_label("Code", exact=True).fill(live_code(secret))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/$"))


SEVERE = frozenset({"serious", "critical"})
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Accessibility:
    """axe-core (``axe-playwright-python``) on every page of a browser journey, in English as
    the journey goes, then each page again in Arabic: one load per page per language.

    ``check(page)`` runs axe on the page as it stands (a form re-shown with its errors too) and
    remembers its URL (not the pages before login: the login page, the two-step code, the
    enrolment and the password reset, which ``test_browser_a11y`` checks in Arabic in a browser
    that asks for Arabic, and the login tests in English);
    ``in_arabic(page)`` switches the account to Arabic with the header's
    language button and opens each remembered page once more. Serious and critical violations
    are collected as ``problems`` (the rule, the page's path with ids shortened, the first
    elements): a journey asserts ``problems == []`` at its end."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self._axe = Axe()
        self.pages: list[str] = []
        self.problems: list[str] = []
        self.checked = 0

    def check(self, page: Page, lang: str | None = None) -> None:
        """Run axe on ``page`` now; remember it for the Arabic pass. With ``lang``, the page
        must be in that language (so a check meant for Arabic is not run on English)."""
        shown = page.get_attribute("html", "lang") or "?"
        assert lang is None or shown == lang, f"{page.url} is in {shown!r}, not {lang!r}"
        lang = shown
        path = _ID.sub("{id}", page.url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0])
        result = self._axe.run(page, options={"resultTypes": ["violations"]})
        self.checked += 1
        for v in result.response["violations"]:
            if v["impact"] in SEVERE:
                where = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
                self.problems.append(f"[{lang}] /{path}: {v['id']} ({v['impact']}): "
                                     f"{v['help']} at {where}")
        url = page.url.split("#")[0]
        if url not in self.pages and "/auth/" not in url:
            self.pages.append(url)

    def in_arabic(self, page: Page) -> None:
        """Switch to Arabic and check each page the journey checked in English."""
        switch_to_arabic(page)
        for url in list(self.pages):
            page.goto(url)
            self.check(page)


def switch_to_arabic(page: Page) -> None:
    """Press the header's language button, as a person would, and wait for the Arabic page.

    The wait is Playwright's retrying assertion on the new page's ``<html>``: a script polled
    during the switch's POST and redirect can run while the document is being replaced and
    find no ``documentElement`` at all (a CI run failed that way)."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
