"""A referral in the browser, from the caseworker's consent to the service's outcome.

The caseworker records the survivor's consent to share her full name with MHPSS, makes a
referral sharing it with a sealed message, and sees it sent. The service provider (MHPSS), in
a second browser context, finds it in "Referrals received", sees only what was shared (the name
and the message, never the alias, location or incident narrative), accepts it and completes it
with an outcome. The caseworker reloads the referral and sees it completed, with the outcome in
its history. Everything is done through links, labels and buttons after the login page; the
console stays clean under the CSP in both contexts and the survivor's name is never in a URL.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

from playwright.sync_api import BrowserContext, Page, expect

from tests.helpers.browser import Accessibility, log_in
from tests.helpers.factories import CANARY

FULL_NAME = CANARY["own_name"]
MESSAGE = "Please see her this week for counselling. ReferralMessageCanary-B7"
OUTCOME = "Six counselling sessions completed; follow-up agreed. OutcomeCanary-C3"
REFERRAL_SENT_RE = re.compile(r"/referrals/([0-9a-f-]{36})/sent$")
RECEIVED_RE = re.compile(r"/referrals/[0-9a-f-]{36}$")




def _name_forms() -> set[str]:
    """The name as it could appear in a URL: whole, per word, percent- or plus-encoded."""
    forms = {FULL_NAME, quote(FULL_NAME), quote_plus(FULL_NAME)}
    forms.update(FULL_NAME.split())
    return {f.lower() for f in forms}


def _leaks(url: str) -> list[str]:
    low = url.lower()
    return [f for f in _name_forms() if f in low]


def _watch(pg: Page, requested: list[str]) -> None:
    """Collect console errors, page errors and every URL the page requests or lands on."""
    if not hasattr(pg, "console_errors"):
        pg.console_errors = []  # type: ignore[attr-defined]
        pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
        pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    pg.on("request", lambda r: requested.append(r.url))
    pg.on("framenavigated", lambda f: requested.append(f.url))


def test_referral_consent_send_accept_complete_across_two_users(page: Page, browser, live_server,
                                                                world):
    requested: list[str] = []
    _watch(page, requested)
    case_number = world.case_numbers["case_own"]
    a11y = Accessibility()  # axe on each page, in English then in Arabic

    # The caseworker logs in and opens the case from the case list, by its number.
    log_in(page, "caseworker", world.secrets["caseworker"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    a11y.check(page)
    page.locator("#case-list").get_by_role("link", name=case_number, exact=True).click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(case_number)
    expect(page.locator("#identity")).to_contain_text(FULL_NAME)
    a11y.check(page)

    # Consent to share with MHPSS, allowing the full name (recorded again, as a person would
    # when the survivor confirms it).
    consent = page.locator("#consent")
    details = consent.locator("details")
    if details.get_attribute("open") is None:
        consent.locator("summary", has_text="Record consent or withdrawal").click()
    expect(details).to_have_attribute("open", "")
    consent.get_by_label("Consent to").select_option(
        label="Share with: Mental health and psychosocial support")
    consent.get_by_label("Given", exact=True).check()
    consent.get_by_label("Given by").select_option(label="Survivor")
    consent.get_by_label("How").select_option(label="Verbal")
    consent.get_by_label("Fields the survivor agrees to share").select_option(label="Full name")
    consent.get_by_role("button", name="Record consent", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Consent recorded.")).to_be_visible()
    expect(page.locator("#consent li").filter(
        has_text="Share with: Mental health and psychosocial support")).to_contain_text("given")

    # Make a referral to the MHPSS service, sharing the full name, with a message.
    page.locator("#referrals").get_by_role("link", name="Make a referral").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Make a referral")
    expect(page.get_by_role("heading", level=1)).to_contain_text(case_number)
    expect(page.locator("#no-fields")).to_contain_text("Choose the service")
    a11y.check(page)
    page.get_by_label("Service", exact=True).select_option(
        label="MHPSS (Test NGO) — Mental health and psychosocial support — consent given")
    # Without JavaScript: the page comes back with the fields consented for that service.
    page.get_by_role("button", name="Show what can be shared").click()
    expect(page.get_by_label("Service", exact=True)).to_have_value(world.ids["mhpss"])
    page.get_by_label("Urgency", exact=True).select_option(label="Normal")
    also_share = page.get_by_label("Also share (only what the survivor agreed to)")
    expect(also_share.locator("option")).to_have_text(["Full name"])
    a11y.check(page)
    also_share.select_option(label="Full name")
    page.get_by_label("Message to the service (sealed)").fill(MESSAGE)
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_url(REFERRAL_SENT_RE)
    expect(page.get_by_role("status").filter(has_text="Referral sent.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral to MHPSS")
    expect(page.locator("#referral-status")).to_have_text("Sent")
    expect(page.locator("#referral-history li")).to_have_count(1)
    a11y.check(page)
    found = REFERRAL_SENT_RE.search(page.url)
    assert found is not None
    referral_id = found.group(1)
    assert referral_id != world.ids["ref_mhpss"]

    # The service provider, in another browser context.
    other: BrowserContext = browser.new_context(base_url=live_server, locale="en-GB")
    try:
        provider = other.new_page()
        _watch(provider, requested)
        provider_a11y = Accessibility()
        log_in(provider, "service_provider", world.secrets["service_provider"])
        provider.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Referrals received").click()
        expect(provider.get_by_role("heading", level=1)).to_have_text("Referrals received")
        inbox = provider.locator("#inbox tbody tr")
        # The world's earlier referral to MHPSS and the new one; the queue never names anyone.
        expect(inbox).to_have_count(2)
        assert FULL_NAME not in provider.content()
        provider_a11y.check(provider)
        link_to_new = provider.locator(f'a[href$="/referrals/{referral_id}"]')
        newest = inbox.filter(has=link_to_new)
        expect(newest).to_have_count(1)
        expect(newest).to_contain_text("Mental health and psychosocial support")
        expect(newest.locator("td").nth(2)).to_have_text("Sent")
        newest.get_by_role("link").click()
        provider.wait_for_url(RECEIVED_RE)
        assert provider.url.endswith(f"/referrals/{referral_id}")

        # Only what the survivor agreed to share, and the message.
        expect(provider.get_by_role("heading", level=1)).to_have_text(
            "Referral for Mental health and psychosocial support")
        expect(provider.locator("#referral-status")).to_have_text("Sent")
        shared = provider.locator("#shared")
        expect(shared.locator("dt").filter(has_text=re.compile(r"^Full name$"))).to_have_count(1)
        expect(shared).to_contain_text(FULL_NAME)
        expect(shared).to_contain_text(case_number)
        expect(shared).to_contain_text(MESSAGE)
        expect(shared).not_to_contain_text(CANARY["message"])  # the other referral's message
        provider_a11y.check(provider)
        html = provider.content()
        for key in ("own_alias", "own_location", "own_narrative"):
            assert CANARY[key] not in html, key

        # Accept, then complete with the outcome.
        provider.get_by_role("button", name="Accept").click()
        expect(provider.locator("#referral-status")).to_have_text("Accepted")
        expect(provider.get_by_role("status")).to_contain_text("Referral accepted.")
        provider.get_by_label("Note (a reason to decline, or the outcome)").fill(OUTCOME)
        # Without the outcome and the confirming tick, nothing is completed.
        provider.get_by_role("button", name="Complete the referral").click()
        expect(provider.locator("#referral-status")).to_have_text("Accepted")
        expect(provider.locator("#outcome-error-1")).to_be_visible()
        expect(provider.locator("#confirm-error-1")).to_be_visible()
        expect(provider.get_by_label("Note (a reason to decline, or the outcome)")).to_have_value(OUTCOME)
        provider.get_by_label("Outcome: was the service provided?").select_option("provided")
        provider.get_by_label(re.compile("I have checked the outcome")).check()
        provider.get_by_role("button", name="Complete the referral").click()
        expect(provider.locator("#referral-status")).to_have_text("Completed")
        expect(provider.get_by_role("alert")).to_have_count(0)
        expect(provider.get_by_role("status")).to_contain_text("Referral completed.")
        expect(provider.locator("#your-answers")).to_contain_text(OUTCOME)
        expect(provider.get_by_role("button", name="Complete the referral")).to_have_count(0)
        provider_a11y.check(provider)
        provider.get_by_role("link", name="Back to the queue").click()
        expect(inbox.filter(has=link_to_new).locator("td").nth(2)).to_have_text("Completed")
        provider_a11y.in_arabic(provider)
        assert provider_a11y.problems == []
        assert provider.console_errors == []  # type: ignore[attr-defined]
    finally:
        other.close()

    # The caseworker reloads the referral: completed, the outcome in its history.
    page.reload()
    expect(page.locator("#referral-status")).to_have_text("Completed")
    history = page.locator("#referral-history li")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("Sent")
    expect(history.nth(1)).to_contain_text("Accepted (Test service_provider)")
    expect(history.nth(2)).to_contain_text(
        f"Completed (Test service_provider) — Service provided: {OUTCOME}")
    expect(page.locator("#referral-outcome")).to_have_text("Service provided")
    expect(page.locator("#referral-message")).to_contain_text(MESSAGE)

    # Back on the case, the referral is listed as completed.
    page.get_by_role("link", name="Back to the case").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}(#referrals)?$"))
    row = page.locator("#referrals tbody tr").filter(
        has=page.locator(f'a[href$="/referrals/{referral_id}/sent"]'))
    expect(row).to_contain_text("Completed")

    # Nowhere in any URL, in either context; no console errors.
    assert len(requested) >= 20
    assert [u for u in requested if _leaks(u)] == []
    a11y.in_arabic(page)
    assert a11y.problems == []
    assert page.console_errors == []  # type: ignore[attr-defined]
