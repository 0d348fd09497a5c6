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
