"""A person at a browser: the login page renders under the CSP, logging in with two-step
verification, the quick-lock, first-login enrolment and the Arabic right-to-left layout."""

from __future__ import annotations

import re

from tests.helpers.browser import Accessibility, switch_to_arabic
from tests.helpers.codes import live_code
from tests.helpers.login import PASSWORD


def test_login_page_renders_with_csp_and_no_console_errors(page):
    resp = page.goto("/auth/login")
    assert resp.status == 200
    csp = resp.headers["content-security-policy"]
    assert "script-src 'nonce-" in csp and "frame-ancestors 'none'" in csp
    assert page.get_by_label("Username").is_visible()
    assert page.get_by_role("button", name="Log in").is_visible()
    # The stylesheet loaded (the CSP allowed it): the header has its background colour.
    bg = page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor")
    assert bg != "rgba(0, 0, 0, 0)"
    a11y = Accessibility()
    a11y.check(page)
    assert a11y.problems == []
    assert page.console_errors == []


def test_log_in_with_mfa_then_quick_lock(page, world):
    page.goto("/auth/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/auth/mfa$"))
    a11y = Accessibility()
    a11y.check(page)
    page.get_by_label("Code").fill(live_code(world.secrets["admin"]))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", name=re.compile("Welcome")).is_visible()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").is_visible()
    page.get_by_role("button", name="Lock now").click()
    page.wait_for_url(re.compile(r"/auth/login"))
    page.goto("/admin/users")
    assert "/auth/login" in page.url
    assert a11y.problems == []
    assert page.console_errors == []


def test_first_login_enrolment_shows_qr_and_recovery_codes(page):
    page.goto("/auth/login")
    page.get_by_label("Username").fill("newbie")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/auth/mfa/enrol$"))
    loaded = page.eval_on_selector("img.qr", "img => img.complete && img.naturalWidth > 0")
    assert loaded, "the QR code image did not load under the CSP"
    a11y = Accessibility()
    a11y.check(page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from your app").fill(live_code(secret))
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    assert page.locator("ul.codes li").count() == 10
    a11y.check(page)
    assert a11y.problems == []
    assert page.console_errors == []


def test_arabic_is_right_to_left(page):
    page.goto("/auth/login")
    switch_to_arabic(page)
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ar"
    # Logical properties: in RTL the brand sits at the right edge of the header.
    header = page.locator(".site-header").bounding_box()
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] + brand["width"] > header["x"] + header["width"] / 2
    a11y = Accessibility()
    a11y.check(page)
    assert a11y.problems == []
