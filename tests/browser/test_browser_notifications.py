"""A provider is told of an urgent referral, in the browser: the count beside "Referrals
received" and the bell, the referral on the home page, urgent first; opening it from the
notification marks it read (the bell falls), answering it takes it off the count and the home
page. axe runs on the home page and the notification list, in English and in Arabic.

The caseworker sends the urgent referral to MHPSS through the referral form (the survivor's
consent to share with MHPSS is in the test world, with the world's earlier normal referral)."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.helpers.browser import Accessibility, log_in
from tests.helpers.factories import CANARY

REFERRAL_SENT_RE = re.compile(r"/referrals/([0-9a-f-]{36})/sent$")
URGENT = "New urgent referral to your service"


def _nav_count(page: Page):
    return page.locator('.site-nav [data-count-for="referrals.inbox"]')


def _bell(page: Page):
    return page.locator("#bell-count")


def test_a_provider_sees_the_count_opens_the_urgent_referral_and_the_count_falls(
        page: Page, browser, live_server, world):
    # The caseworker sends an urgent referral of her case to MHPSS.
    log_in(page, "caseworker", world.secrets["caseworker"])
    page.goto(f"/referrals/new/{world.ids['case_own']}")
    page.get_by_label("Service", exact=True).select_option(
        label="MHPSS (Test NGO) — Mental health and psychosocial support — consent given")
    page.get_by_label("Urgency", exact=True).select_option(label="Urgent")
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_url(REFERRAL_SENT_RE)
    found = REFERRAL_SENT_RE.search(page.url)
    assert found is not None
    urgent_id = found.group(1)
    expect(_bell(page)).to_have_count(0)  # nobody is told of their own act

    other: BrowserContext = browser.new_context(base_url=live_server, locale="en-GB")
    try:
        provider = other.new_page()
        provider.console_errors = []  # type: ignore[attr-defined]
        provider.on("console", lambda m: m.type == "error" and provider.console_errors.append(
            m.text))
        provider.on("pageerror", lambda e: provider.console_errors.append(str(e)))
        a11y = Accessibility()
        log_in(provider, "service_provider", world.secrets["service_provider"])

        # Home: two new referrals (the world's and the urgent one), the urgent one first; the
        # same number beside "Referrals received" and on the bell (two notifications).
        expect(_nav_count(provider)).to_have_text("2")
        expect(_bell(provider)).to_have_text("2")
        panel = provider.locator("#home-provider-referrals")
        expect(panel.get_by_role("heading", level=2)).to_have_text("New referrals to your service")
        links = panel.locator("#provider-new-referrals li a")
        expect(links).to_have_count(2)
        expect(links.first).to_have_attribute("href", f"/referrals/{urgent_id}")
        expect(panel.locator("li").first).to_contain_text("Urgent")
        expect(panel.locator("li").first).to_contain_text("Answer due by")
        expect(panel).not_to_contain_text(world.case_numbers["case_own"])
        assert not [c for c in CANARY.values() if c in provider.content()]
        a11y.check(provider)

        # The notification list: the urgent one newest, then the world's.
        provider.locator("#bell").click()
        expect(provider.get_by_role("heading", level=1)).to_have_text("Notifications")
        items = provider.locator("#notification-list li")
        expect(items).to_have_count(2)
        expect(items.first).to_contain_text(URGENT)
        expect(items.first).to_have_class(re.compile(r"notification-urgent"))
        a11y.check(provider)

        # Open it: the referral, as the provider sees it; the bell falls, the count does not
        # (it is not answered yet).
        items.first.get_by_role("button").click()
        provider.wait_for_url(re.compile(rf"/referrals/{urgent_id}$"))
        expect(provider.locator("#referral-status")).to_have_text("Sent")
        expect(_bell(provider)).to_have_text("1")
        expect(_nav_count(provider)).to_have_text("2")

        # Accept it: the count falls, and the home page lists only the other one.
        provider.get_by_role("button", name="Accept").click()
        expect(provider.locator("#referral-status")).to_have_text("Accepted")
        expect(_nav_count(provider)).to_have_text("1")
        provider.get_by_role("link", name="Home", exact=True).click()
        expect(links).to_have_count(1)
        expect(links.first).to_have_attribute("href", f"/referrals/{world.ids['ref_mhpss']}")
        expect(_bell(provider)).to_have_text("1")

        # The world's referral, opened from the home page: the count stays until answered.
        links.first.click()
        provider.wait_for_url(re.compile(rf"/referrals/{world.ids['ref_mhpss']}$"))
        expect(_nav_count(provider)).to_have_text("1")

        a11y.in_arabic(provider)
        assert a11y.checked == 4
        assert a11y.problems == []
        assert provider.console_errors == []  # type: ignore[attr-defined]
    finally:
        other.close()
