"""A synced field intake, reviewed in the browser: the caseworker follows the home page's link
to her waiting intakes, opens one whose statistics consent was left unanswered (the problem is
beside the field, the survivor's existing case is offered), answers it, and opens a new case
from it. Accessibility is checked on each page, in English then in Arabic; the console stays
clean."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.helpers.browser import Accessibility, log_in
from tests.helpers.field import intake_fields, make_intake


def test_a_field_intake_is_corrected_and_becomes_a_case(page: Page, live_app, live_server,
                                                        world):
    a11y = Accessibility()
    make_intake(live_app, world.users["caseworker"], intake_fields(**{
        "person-full_name": "Zainab Canaryqx", "consent-reporting": None}))
    log_in(page, "caseworker", world.secrets["caseworker"])
    page.get_by_role("link", name="Field intakes (1 waiting)").click()
    page.wait_for_url(re.compile(r"/field/intakes$"))
    a11y.check(page)
    page.get_by_role("link", name="Review").click()
    page.wait_for_url(re.compile(r"/field/intakes/[0-9a-f-]{36}$"))
    expect(page.locator("#intake-problems")).to_be_visible()
    expect(page.locator("#search-candidates")).to_contain_text(world.case_numbers["case_own"])
    expect(page.get_by_role("button", name="Add to this case")).to_have_count(1)
    a11y.check(page)
    page.locator("#intake-consent").get_by_role("radiogroup", name=re.compile(
        "statistics")).get_by_label("Given").check()
    page.locator("#open-new").get_by_role("button", name="Open a new case").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
    expect(page.locator("body")).to_contain_text("opened from the field intake")
    a11y.in_arabic(page)
    assert a11y.problems == []
    assert page.console_errors == []  # type: ignore[attr-defined]
