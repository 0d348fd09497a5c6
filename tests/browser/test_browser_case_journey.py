"""A caseworker's journey in the browser, from search-before-create to a closure request.

Everything is done as a person would do it: links, labels and buttons, no direct URLs after the
login page. Along the way: the survivor's name is never in any URL (page or request), lists show
the case number and never the name, and the console stays clean under the CSP.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus, unquote_plus

from playwright.sync_api import Page, expect

from tests.helpers.browser import Accessibility, log_in

# Synthetic survivor: unique markers so a leak is unmistakable.
FULL_NAME = "Samira Journeycanary"
PHONE = "+218 91 555 0147"
SAFE_CONTACT = "Call only after 18:00, say it is the clinic. SafeContactCanary-J4"
CASE_NUMBER_RE = re.compile(r"TRI-(\d{4})-\d{5}")




def _name_forms() -> set[str]:
    """The name as it could appear in a URL: whole, per word, percent- or plus-encoded."""
    forms = {FULL_NAME, quote(FULL_NAME), quote_plus(FULL_NAME)}
    forms.update(FULL_NAME.split())
    return {f.lower() for f in forms}


def _leaks(url: str) -> list[str]:
    low = url.lower()
    return [f for f in _name_forms() if f in low]


def test_caseworker_journey_search_intake_consent_incident_assessment_closure(page: Page, world):
    visited: list[str] = []
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    a11y = Accessibility()

    def step() -> None:
        visited.append(page.url)
        a11y.check(page)

    # Log in: password, then the code from the authenticator app.
    log_in(page, "caseworker", world.secrets["caseworker"])
    step()

    # Cases → Search or open a case.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    step()
    page.get_by_role("link", name="Search or open a case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Search before opening a case")
    step()

    # Search by name first (a POST): nothing found.
    page.get_by_label("Name or alias").fill(FULL_NAME)
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator("#search-result")
    expect(result).to_contain_text("No existing case found.")
    expect(page.locator("#possible-existing")).to_have_count(0)
    step()

    # Open a new case: intake, with the name just searched carried over (by POST).
    result.get_by_role("button", name="Open a new case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a case")
    expect(page.get_by_label("Full name", exact=True)).to_have_value(FULL_NAME)
    assert "Samira" not in page.url and "name=" not in page.url
    step()
    page.get_by_label("Site", exact=True).select_option(label="Tripoli")
    page.get_by_label("Full name", exact=True).fill(FULL_NAME)
    page.get_by_label("Date of birth", exact=True).fill("1994-03-14")
    page.get_by_label("Sex", exact=True).select_option(label="Female")
    page.get_by_label("Displacement status").select_option(label="Internally displaced")
    page.get_by_label("Nationality", exact=True).select_option(label="National")
    page.get_by_label("Disability", exact=True).select_option(label="No")
    page.get_by_label("Phone", exact=True).fill(PHONE)
    page.get_by_label("Safe contact instructions").fill(SAFE_CONTACT)
    opened_year = datetime.now(UTC).year
    page.get_by_role("button", name="Save").click()

    # The case page: its number (site prefix, this year, sequence), the survivor decrypted.
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(CASE_NUMBER_RE)
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
    step()
    found = CASE_NUMBER_RE.search(heading.inner_text())
    assert found is not None
    case_number = found.group(0)
    assert int(found.group(1)) in (opened_year, datetime.now(UTC).year)
    expect(page.get_by_role("status").filter(has_text="Record consent next")).to_contain_text(case_number)
    identity = page.locator("#identity")
    expect(identity).to_contain_text(FULL_NAME)
    expect(identity).to_contain_text(PHONE)
    expect(identity).to_contain_text("SafeContactCanary-J4")
    expect(identity).to_contain_text("Internally displaced")
    expect(page.locator("#no-consent")).to_be_visible()

    # Consent for services: open the consent details (unless already open) and record it.
    consent = page.locator("#consent")
    details = consent.locator("details")
    if details.get_attribute("open") is None:
        consent.locator("summary", has_text="Record consent or withdrawal").click()
    expect(details).to_have_attribute("open", "")
    consent.get_by_label("Consent to").select_option(label="Case management services")
    consent.get_by_label("Given", exact=True).check()
    consent.get_by_label("Given by").select_option(label="Survivor")
    consent.get_by_label("How").select_option(label="Verbal")
    consent.get_by_role("button", name="Record consent", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Consent recorded.")).to_be_visible()
    expect(page.locator("#consent li").filter(has_text="Case management services")).to_contain_text(
        "given")
    expect(page.locator("#no-consent")).to_have_count(0)
    step()

    # An incident through the GBVIMS questions: penetration, today → rape within 72 hours.
    page.get_by_role("link", name="Record an incident").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Incident")
    step()
    today = datetime.now(UTC).date().isoformat()
    page.get_by_label("Date of incident", exact=True).fill(today)
    page.get_by_label("Date reported", exact=True).fill(today)
    page.get_by_label("Type of place").select_option(label="Camp or settlement")
    # Every question is answered (nothing is chosen in advance): yes to the first, no to the rest.
    questions = page.locator("#classification [role=radiogroup]")
    expect(questions).to_have_count(6)
    questions.nth(0).get_by_label("Yes").check()
    for n in range(1, 6):
        questions.nth(n).get_by_label("No").check()
    for fact in page.locator("#facts [role=radiogroup]").all():
        fact.get_by_label("No").check()
    page.get_by_label("Survivor's age at the incident", exact=True).fill("31")
    page.get_by_label("Number of perpetrators").select_option(label="1")
    first_perpetrator = page.locator("#perpetrator-1")
    first_perpetrator.get_by_label("Sex").select_option(label="Male")
    first_perpetrator.get_by_label("Age group").select_option(label="Unknown")
    first_perpetrator.get_by_label("Relationship to the survivor").select_option(label="Armed actor")
    first_perpetrator.get_by_label("Occupation").select_option(label="Unknown")
    page.get_by_label("Time of day").select_option(label="Unknown")
    page.get_by_label("Stage of displacement").select_option(label="During refuge")
    page.get_by_role("button", name="Save incident").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}(#incidents)?$"))
    step()
    warning = page.get_by_role("status").filter(has_text="Rape within the last 72 hours")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("clinical care")
    incident = page.locator("#incidents article").first
    expect(incident).to_contain_text("Rape")
    expect(incident.locator(".badge-danger")).to_have_text("urgent clinical care")

    # Assessment: risk high.
    page.get_by_role("link", name="Assess", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Assessment and safety plan")
    step()
    page.get_by_label("Risk level", exact=True).select_option(label="High")
    page.get_by_role("button", name="Save assessment").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}(#assessment)?$"))
    step()
    expect(page.locator("#assessment")).to_contain_text("Risk: High")

    # Workflow: move to Assessment, then request closure with a reason.
    workflow = page.locator("#workflow")
    workflow.get_by_label("Move to").select_option(label="Assessment")
    workflow.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{case_number} — Assessment")
    step()
    workflow.locator("summary", has_text="Request closure").click()
    workflow.get_by_label("Reason for closure").select_option(label="Needs met, goals achieved")
    workflow.get_by_role("button", name="Request closure").click()
    expect(page.get_by_role("status").filter(has_text="Closure requested.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Closure requested")
    expect(page.locator("#closure-requested")).to_contain_text(
        "Closure requested by Test caseworker: Needs met, goals achieved")
    step()

    # The case list: the number, never the name.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    step()
    row = page.locator("#case-list tbody tr").filter(has_text=case_number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Closure requested")
    expect(row.locator(".badge-danger")).to_have_text("High")
    html = page.content()
    for part in FULL_NAME.split() + [PHONE]:
        assert part not in html

    # Nowhere in any URL: neither the pages visited nor any request the browser made.
    assert len(visited) >= 12
    assert [u for u in visited if _leaks(u)] == []
    assert [u for u in requested if _leaks(u)] == []
    phone_digits = re.sub(r"\D", "", PHONE)
    assert not any(phone_digits in re.sub(r"\D", "", unquote_plus(u)) for u in requested)
    assert page.console_errors == []

    # Every page again in Arabic; no serious or critical accessibility problem in either.
    a11y.in_arabic(page)
    assert a11y.problems == []
    assert a11y.checked >= 2 * 9
    assert page.console_errors == []
