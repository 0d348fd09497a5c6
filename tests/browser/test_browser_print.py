"""The case summary printed by Chromium: "Confidential" on every printed page (the fixed marks
repeat), the menu not printed, and no survivor name in the page's title."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.helpers.browser import log_in
from tests.helpers.factories import CANARY
from tests.helpers.pdf import page_texts


def test_every_printed_page_of_the_case_summary_says_confidential(page: Page, world):
    log_in(page, "caseworker", world.secrets["caseworker"])
    page.goto(f"/cases/{world.ids['case_own']}")
    page.get_by_role("link", name="Print the case summary").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}/print$"))
    expect(page.locator("#identity")).to_contain_text(CANARY["own_name"])
    assert CANARY["own_name"] not in page.title() and "Zainab" not in page.title()
    page.emulate_media(media="print")
    for mark in ("#print-mark-top", "#print-mark-bottom"):
        assert page.locator(mark).evaluate("e => getComputedStyle(e).position") == "fixed"
    expect(page.locator(".site-header")).to_be_hidden()
    pdf = page.pdf(format="A6", print_background=True)  # small sheets: several pages
    texts = page_texts(pdf)
    assert len(texts) >= 2, len(texts)
    assert any(CANARY["own_name"].split()[0] in t for t in texts)  # the reader really reads it
    for number, text in enumerate(texts, start=1):
        assert text.count("Confidential") >= 2, (number, text[:200])
    assert page.console_errors == []  # type: ignore[attr-defined]
