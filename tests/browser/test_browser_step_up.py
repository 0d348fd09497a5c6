"""Step-up in a browser: a supervisor erases a case after the window has passed; the
"Confirm it is you" page asks for the code (accessible, labelled, the error beside the field),
and the erasure goes ahead with what was typed on the erase form, kept."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page

from app import clock
from tests.helpers.browser import Accessibility, log_in
from tests.helpers.codes import code_at


def test_a_stale_erasure_asks_for_the_code_then_goes_ahead(page: Page, world) -> None:
    log_in(page, "supervisor", world.secrets["supervisor"])
    number = world.case_numbers["case_own"]
    page.goto(f"/cases/{world.ids['case_own']}/erase")
    page.get_by_label("Type the case number to confirm").fill(number)
    later = clock.utcnow() + timedelta(minutes=6)
    clock.freeze(later)  # the server runs in this process: six minutes after the sign-in code
    try:
        page.get_by_role("button", name="Erase this case for ever").click()
        assert page.get_by_role("heading", name="Confirm it is you").is_visible()
        a11y = Accessibility()
        a11y.check(page)
        page.get_by_label("Code from your authenticator app").fill("12345")
        page.get_by_role("button", name="Confirm and continue").click()
        field = page.get_by_label("Code from your authenticator app")
        assert field.get_attribute("aria-describedby") == "step_up_code-error-1"
        a11y.check(page)
        clock.freeze(later + timedelta(seconds=31))
        field.fill(code_at(world.secrets["supervisor"], later + timedelta(seconds=31)))
        page.get_by_role("button", name="Confirm and continue").click()
        page.wait_for_url(re.compile(r"/cases/$"))
        assert page.get_by_text(f"Case {number} has been erased.").is_visible()
    finally:
        clock.freeze(None)
    assert a11y.problems == []
    assert page.console_errors == []
