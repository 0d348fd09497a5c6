"""Single sign-on in a browser, against the local OpenID provider (tests/helpers/oidc_provider.py):
sent to sign in from a case page, the caseworker chooses the provider on the login page, the
browser goes there and back (the provider approves at once), Amana still asks for its own code,
and the case page opens. The one-time binding cookie is gone afterwards; the pages on the way
pass the accessibility checks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import Accessibility
from tests.helpers.codes import live_code
from tests.helpers.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, link, settings

SUBJECT = "browser-subject-0001"


@pytest.fixture
def live_config(provider: Provider) -> dict[str, object]:
    from app.auth import oidc

    oidc.forget()
    provider.bad, provider.claims, provider.subject, provider.last_token = None, {}, SUBJECT, None
    return {"OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_NAME": "Test IdP"}


def test_sign_in_with_the_provider_then_the_code_lands_on_the_page_asked_for(
        page: Page, live_app, live_server, provider: Provider, world) -> None:
    link(live_app, world, "caseworker", SUBJECT, provider.issuer)
    settings(live_app, world.ids["org"], enabled=True)
    case = f"/cases/{world.ids['case_own']}"
    page.goto(case)
    page.wait_for_url(re.compile(r"/auth/login\?next="))
    a11y = Accessibility()
    a11y.check(page)
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url(re.compile(r"/auth/mfa$"))  # through the provider and back
    assert not [c for c in page.context.cookies() if c["name"].startswith("amana-sso")]
    a11y.check(page)
    page.get_by_label("Code", exact=True).fill(live_code(world.secrets["caseworker"]))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(re.escape(case) + "$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(world.case_numbers["case_own"])
    assert a11y.problems == []
    assert page.console_errors == []  # type: ignore[attr-defined]
