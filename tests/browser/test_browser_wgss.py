"""A safe-space coordinator in the browser: log a session (counts only, notes encrypted), fix a
mistake the form points out, then see the month's summary with its chart beside the table.

Everything is done as a person would: links, labels and buttons after the login page. The notes
never appear in a URL, and the console stays clean under the strict CSP (the chart is an SVG
drawn on the server: no script, no inline style)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from tests.helpers.browser import Accessibility, log_in

NOTES = "Breathing exercise worked well. NotesCanary-WGSS-B7"
COUNTS = {  # 9 attended: girls 10–14: 2, girls 15–17: 3, women 25–49: 4
    "Girls aged 10–14": "2", "Girls aged 15–17": "3", "Women aged 25–49": "4",
    "New participants": "4", "Returning participants": "5",
    "Participants with disabilities": "1", "Requests for case management": "1",
    "Referrals made": "2",
}




def test_coordinator_logs_a_session_and_sees_the_months_summary(page: Page, world):
    visited: list[str] = []
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    a11y = Accessibility()  # axe on each page, in English then in Arabic

    log_in(page, "wgss_coordinator", world.secrets["wgss_coordinator"])

    # Safe spaces → Log a session.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Safe spaces").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Safe spaces")
    expect(page.get_by_role("cell", name="Camp WGSS")).to_be_visible()
    a11y.check(page)
    expect(page.get_by_text("Benghazi WGSS")).to_have_count(0)
    page.get_by_role("link", name="Log a session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a session")
    expect(page.get_by_text("Never record who came.")).to_be_visible()
    expect(page.locator("#notes-reminder")).to_contain_text("No names here.")
    visited.append(page.url)
    a11y.check(page)

    today = datetime.now(UTC).date()
    page.get_by_label("Safe space", exact=True).select_option(label="Camp WGSS")
    page.get_by_label("Date of the session", exact=True).fill(today.isoformat())
    page.get_by_label("Activity", exact=True).select_option(label="Group psychosocial support")
    page.get_by_label("Topic", exact=True).fill("Coping with stress")
    page.get_by_label("Duration (minutes)", exact=True).fill("90")
    expect(page.get_by_label("Test wgss_coordinator", exact=True)).to_be_checked()  # facilitator: oneself
    for label, value in COUNTS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Returning participants", exact=True).fill("6")  # a slip: 4 + 6 ≠ 9
    page.get_by_label("Notes", exact=True).fill(NOTES)
    page.get_by_role("button", name="Save session").click()

    # The form says what is wrong, beside the field, and keeps what was typed.
    expect(page.get_by_role("alert").filter(has_text="Please correct")).to_be_visible()
    message = page.locator("#new_participants-error-1")
    expect(message).to_contain_text("add up to 10, but the age bands add up to 9")
    expect(page.get_by_label("Notes", exact=True)).to_have_value(NOTES)
    expect(page.get_by_label("Topic", exact=True)).to_have_value("Coping with stress")
    a11y.check(page)  # the form re-shown with its errors
    page.get_by_label("Returning participants", exact=True).fill("5")
    page.get_by_role("button", name="Save session").click()

    # The session page: counts and the decrypted notes.
    page.wait_for_url(re.compile(r"/safe-spaces/sessions/[0-9a-f-]{36}$"))
    visited.append(page.url)
    expect(page.get_by_role("status").filter(has_text="Session saved.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Group psychosocial support")
    expect(page.locator(".wgss-notes")).to_contain_text("NotesCanary-WGSS-B7")
    a11y.check(page)

    # The month's sessions, then its summary.
    page.get_by_role("link", name="Sessions of this month").click()
    visited.append(page.url)
    expect(page.get_by_role("row").filter(has_text="Coping with stress")).to_contain_text("9")
    a11y.check(page)
    page.get_by_role("link", name="Summary of this month").click()
    visited.append(page.url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Monthly summary: Camp WGSS")
    expect(page.locator('[data-figure="sessions"]')).to_have_text("1")
    expect(page.locator('[data-figure="attendance"]')).to_have_text("9")
    expect(page.locator('[data-figure="new_participants"]')).to_have_text("4")
    expect(page.locator('[data-figure="referrals_made"]')).to_have_text("2")
    expect(page.locator('#wgss-bands tr[data-band="15_19"] td').nth(0)).to_have_text("3")
    expect(page.locator('#wgss-types tr[data-type="psychosocial_support"]')).to_contain_text("1")

    # The chart is drawn, beside the tables (on a wide screen), with one bar per non-empty band.
    chart = page.get_by_role("img", name="Attendance by age band, girls and women")
    expect(chart).to_be_visible()
    assert page.locator(".wgss-svg rect.chart-girls").count() == 3  # legend + 10–14 + 15–19
    assert page.locator(".wgss-svg rect.chart-women").count() == 2  # legend + 25–49
    table_box = page.locator(".wgss-tables").bounding_box()
    chart_box = page.locator(".wgss-chart").bounding_box()
    assert table_box and chart_box and chart_box["x"] >= table_box["x"] + table_box["width"] - 1
    fill = page.eval_on_selector(".wgss-svg rect.chart-girls", "e => getComputedStyle(e).fill")
    assert fill not in ("", "none", "rgb(0, 0, 0)")  # styled by the stylesheet, not inline
    a11y.check(page)

    # The CSV export downloads (a GET without personal data in its URL).
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert "totals,attendance,Attendance,9" in text and "NotesCanary" not in text

    for url in visited + requested:
        assert "NotesCanary" not in url and "Coping" not in url
    a11y.in_arabic(page)
    assert a11y.problems == []
    assert page.console_errors == []


def test_manager_reads_the_organisations_figures_in_both_languages(page: Page, browser,
                                                                   live_server, world):
    """A coordinator logs one session today (9 attended); the programme manager opens the
    organisation's figures from the menu: tables and charts, every count under 5 withheld as
    ×, the legend beside them, the CSV the same, in English and in Arabic."""
    coordinator = browser.new_context(base_url=live_server, locale="en-GB").new_page()
    log_in(coordinator, "wgss_coordinator", world.secrets["wgss_coordinator"])
    coordinator.goto("/safe-spaces/sessions/new")
    coordinator.get_by_label("Safe space", exact=True).select_option(label="Camp WGSS")
    coordinator.get_by_label("Date of the session", exact=True).fill(
        datetime.now(UTC).date().isoformat())
    coordinator.get_by_label("Activity", exact=True).select_option(label="Life skills")
    coordinator.get_by_label("Topic", exact=True).fill("Communication")
    coordinator.get_by_label("Duration (minutes)", exact=True).fill("60")
    for label, value in COUNTS.items():
        coordinator.get_by_label(label, exact=True).fill(value)
    coordinator.get_by_role("button", name="Save session").click()
    coordinator.wait_for_url(re.compile(r"/safe-spaces/sessions/[0-9a-f-]{36}$"))
    coordinator.context.close()

    a11y = Accessibility()
    log_in(page, "program_manager", world.secrets["program_manager"])
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Safe-space figures").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Safe-space figures")
    page.get_by_label("Period", exact=True).fill(str(datetime.now(UTC).year))
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#figures-legend")).to_contain_text("× withheld: fewer than 5")
    # Girls 10–14: 2, under 5: withheld, never shown as a number.
    expect(page.locator('#figures-attendance tr[data-band="10_14"] td').nth(0)).to_have_text("×")
    expect(page.get_by_role("img", name="Attendance by age band, girls and women")).to_be_visible()
    expect(page.get_by_role("img", name="Sessions by activity")).to_be_visible()
    assert page.locator(".wgss-svg rect[data-withheld]").count() >= 1
    a11y.check(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert "attendance_by_age_band,girls_10_14,Girls 10–14,×" in text
    a11y.in_arabic(page)
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert a11y.problems == []
    assert page.console_errors == []
