"""Passkeys in a real browser: Chromium's virtual authenticator (the DevTools protocol's
WebAuthn domain) registers a passkey under My account, then signs in with the password and the
passkey instead of the code; and confirms a stale dangerous action with it.

WebAuthn needs a secure context and a domain as relying party id: the browser opens the server
as http://localhost (a secure context; an IP address cannot be an rp id), and the app takes
the rp id and origin from the request (no AMANA_WEBAUTHN_* in tests)."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page

from app import clock
from tests.helpers.browser import Accessibility, log_in
from tests.helpers.login import PASSWORD

AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True}


def _page(browser, live_server: str) -> tuple[Page, object, str, list[str]]:
    context = browser.new_context(base_url=live_server.replace("127.0.0.1", "localhost"),
                                  locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return page, cdp, found["authenticatorId"], errors


def _register(page: Page, a11y: Accessibility) -> None:
    page.goto("/auth/sessions")
    page.get_by_role("link", name="My passkeys").click()
    a11y.check(page)
    page.get_by_label("Name of this passkey").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    a11y.check(page)
    page.get_by_role("button", name="Register the passkey").click()
    page.wait_for_url(re.compile(r"/auth/passkeys$"))
    assert page.get_by_text("The passkey has been added.").is_visible()
    assert page.get_by_role("cell", name="Work laptop").is_visible()


def test_register_a_passkey_then_sign_in_with_it(browser, live_server, world) -> None:
    page, cdp, authenticator, errors = _page(browser, live_server)
    a11y = Accessibility()
    try:
        log_in(page, "caseworker", world.secrets["caseworker"])
        _register(page, a11y)
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/auth/login"))
        page.get_by_label("Username", exact=True).fill("caseworker")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r"/auth/mfa$"))
        page.get_by_role("button", name="Use a passkey").click()
        page.wait_for_url(re.compile(r"/$"))
        [credential] = cdp.send("WebAuthn.getCredentials",  # type: ignore[attr-defined]
                                {"authenticatorId": authenticator})["credentials"]
        assert credential["signCount"] >= 1 and credential["rpId"] == "localhost"
        page.goto("/auth/passkeys")
        assert page.get_by_role("cell", name="Work laptop").is_visible()
        a11y.in_arabic(page)
    finally:
        page.context.close()
    assert a11y.problems == []
    assert errors == []


def test_a_stale_removal_is_confirmed_with_the_passkey(browser, live_server, world) -> None:
    page, _cdp, _authenticator, errors = _page(browser, live_server)
    try:
        log_in(page, "auditor", world.secrets["auditor"])
        _register(page, Accessibility())
        clock.freeze(clock.utcnow() + timedelta(minutes=6))  # the server runs in this process
        page.get_by_role("button", name="Remove").click()
        assert page.get_by_role("heading", name="Confirm it is you").is_visible()
        page.get_by_role("button", name="Use a passkey").click()
        page.wait_for_url(re.compile(r"/auth/passkeys$"))
        assert page.get_by_text("The passkey has been removed.").is_visible()
        assert page.get_by_text("You have no passkey yet.").is_visible()
    finally:
        clock.freeze(None)
        page.context.close()
    assert errors == []
