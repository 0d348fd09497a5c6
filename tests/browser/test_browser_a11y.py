"""Accessibility in the browser beyond what axe sees: a phone's narrow screen and the keyboard.

- At 360 px wide (a small phone), in English and in Arabic, no journey page scrolls sideways
  (tables scroll inside their own box), the case number does not wrap, buttons (and links
  drawn as buttons, and details toggles) are at least 44 px tall, so a thumb can hit them, and
  each radio button and checkbox has its label right beside it (on its right in English, on
  its left in Arabic).
- A caseworker logs in, opens a case and adds a note with the keyboard alone (Tab, Enter,
  Space and typing), and always sees where the focus is.
- The pages before login (login, two-step code, first-login enrolment and its recovery codes,
  password reset), blank and re-shown with their errors, have no serious axe problem in Arabic
  either (a browser asking for Arabic; the accounts speak Arabic once known).
- The axe check itself flags a page with serious problems (so a clean journey means something).
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.helpers.browser import Accessibility, log_in, switch_to_arabic
from tests.helpers.codes import live_code
from tests.helpers.field import intake_fields, make_intake
from tests.helpers.login import PASSWORD

PHONE = {"width": 360, "height": 740}
MIN_TARGET = 44  # px: WCAG 2.5.5 target size, the height of every button

# Each account's journey pages ({name} is an id of the test world).
PHONE_PAGES = {
    "caseworker": ["/", "/cases/", "/cases/tasks", "/cases/search", "/cases/{case_own}",
                   "/cases/{case_own}/edit", "/cases/{case_own}/incidents/new",
                   "/cases/{case_own}/assessment", "/cases/{case_own}/actions/new",
                   "/referrals/new/{case_own}", "/referrals/{ref_mhpss}/sent", "/auth/sessions",
                   "/auth/password", "/cases/{case_own}/history", "/cases/{case_own}/print",
                   "/referrals/{ref_mhpss}/sent/print", "/auth/pledge", "/auth/passkeys",
                   "/field/",  # the offline field intake, in the account's language
                   "/field/intakes", "/field/intakes/{field_intake}"],
    "supervisor": ["/cases/{case_other}", "/cases/{case_other}/assign", "/cases/break-glass",
                   "/field/team"],
    "service_provider": ["/", "/notifications/", "/referrals/inbox", "/referrals/{ref_mhpss}",
                         "/referrals/{ref_mhpss}/print",
                         "/referrals/{ref_mhpss}/onward"],
    "wgss_coordinator": ["/safe-spaces/", "/safe-spaces/sessions/new",
                         "/safe-spaces/{safe_space}/sessions", "/safe-spaces/{safe_space}/summary",
                         "/programme/", "/programme/awareness/new", "/programme/trainings/new",
                         "/programme/sites/{tripoli}/awareness"],
    "program_manager": ["/safe-spaces/figures", "/safe-spaces/figures?period=2026&site=all",
                        "/safe-spaces/{safe_space}/summary", "/statistics/?site=all",
                        "/statistics/impact", "/statistics/recorder"],
    "admin": ["/admin/users", "/admin/users/new", "/admin/directory", "/admin/grants",
              "/admin/pledge", "/admin/pledge/new", "/admin/directory/organisation/{org}/sso"],
    "auditor": ["/audit/events", "/audit/verify", "/audit/alerts"],
}

# What a page measures of itself: sideways overflow, every visible button (or link drawn as one,
# or a details toggle) shorter than the target, and every radio button or checkbox whose label
# is not right beside it (for the failure message: the widest elements, texts and sizes).
MEASURE = """(minimum) => {
  const doc = document.scrollingElement;
  const short = [];
  for (const el of document.querySelectorAll(
      'button, input[type=submit], input[type=button], a.button, .link-button, summary')) {
    const r = el.getBoundingClientRect();
    if (!el.getClientRects().length || r.width === 0) continue;  // not shown (closed details)
    const text = (el.innerText || el.value || '').trim().slice(0, 40);
    if (r.height < minimum) short.push(`${text}: ${r.height}px`);
  }
  const far = [];  // radio buttons and checkboxes whose label is not right beside them
  const rtl = document.documentElement.dir === 'rtl';
  for (const input of document.querySelectorAll('input[type=radio], input[type=checkbox]')) {
    if (!input.getClientRects().length || !input.labels.length) continue;
    const i = input.getBoundingClientRect(), l = input.labels[0].getBoundingClientRect();
    const gap = rtl ? i.left - l.right : l.left - i.right;
    const middle = Math.abs((i.top + i.bottom) / 2 - (l.top + l.bottom) / 2);
    if (gap < 0 || gap > 16 || middle > 12)
      far.push(`${input.name}=${input.value}: ${Math.round(gap)}px across, ${Math.round(middle)}px down`);
  }
  const wide = [];
  if (doc.scrollWidth > doc.clientWidth) {  // name the widest culprits, for the failure message
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > doc.clientWidth + 1 || r.left < -1)
        wide.push(`${el.tagName.toLowerCase()}.${el.className}`);
    }
  }
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, short, far,
          wide: wide.slice(-5)};
}"""


def _login_at(browser, live_server: str, world, username: str, lang: str = "en") -> Page:
    """A phone-sized page logged in as ``username``, in English or (switched with the header's
    language button, as a person would) in Arabic."""
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport=PHONE)
    page = context.new_page()
    log_in(page, username, world.secrets[username])
    if lang == "ar":
        switch_to_arabic(page)
    return page


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_phone_pages_do_not_scroll_sideways_and_buttons_are_thumb_sized(browser, live_app,
                                                                          live_server, world,
                                                                          lang):
    problems: list[str] = []
    measured = 0
    # A pending field intake of the caseworker's (the world has none), with a problem to show
    # beside its field and a likely duplicate with its button.
    ids = {**world.ids, "field_intake": make_intake(live_app, world.users["caseworker"],
                                                    intake_fields(**{
                                                        "person-full_name": "Zainab Canaryqx",
                                                        "consent-reporting": None}))}
    for username, paths in PHONE_PAGES.items():
        page = _login_at(browser, live_server, world, username, lang)
        try:
            for path in paths:
                resp = page.goto(path.format(**ids))
                assert resp is not None and resp.status == 200, (username, path)
                assert page.get_attribute("html", "lang") == lang
                m = page.evaluate(MEASURE, MIN_TARGET)
                measured += 1
                if m["scrollWidth"] > PHONE["width"] or m["scrollWidth"] > m["clientWidth"]:
                    problems.append(f"{username} {path}: the page is {m['scrollWidth']}px wide"
                                    f" ({m['wide']})")
                problems.extend(f"{username} {path}: button {b}" for b in m["short"])
                problems.extend(f"{username} {path}: label not beside {b}" for b in m["far"])
                if path == "/cases/{case_own}":
                    number = page.get_by_role("heading", level=1).locator("[dir=ltr]")
                    expect(number).to_have_text(world.case_numbers["case_own"])
                    lines = number.evaluate("e => e.getClientRects().length")
                    assert lines == 1, "the case number wraps"
                    assert number.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
        finally:
            page.context.close()
    assert measured == sum(len(p) for p in PHONE_PAGES.values())
    assert problems == [], "\n".join(problems)


def _focused(page: Page, target: Locator) -> bool:
    return bool(target.evaluate("e => e === document.activeElement"))


def _tab_to(page: Page, target: Locator, limit: int = 200) -> None:
    """Press Tab until ``target`` has the focus (as a person tabbing through the page)."""
    expect(target).to_be_visible()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page, target):
            return
    raise AssertionError(f"Tab never reached {target}")


def _focus_is_visible(page: Page) -> bool:
    """The focused element draws a focus ring (an outline at least 2px wide, or a shadow)."""
    return bool(page.evaluate("""() => {
      const s = getComputedStyle(document.activeElement);
      const ring = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
      return ring || (s.boxShadow && s.boxShadow !== 'none');
    }"""))


def test_keyboard_alone_logs_in_opens_a_case_and_adds_a_note(page: Page, world):
    note = "Called back, she is safe tonight. KeyboardNote-K7"
    page.goto("/auth/login")

    # The first Tab reaches the skip link, shown on screen while it has the focus.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert _focused(page, skip)
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    assert _focus_is_visible(page)

    # Log in: type into the fields reached with Tab, press Enter to send.
    _tab_to(page, page.get_by_label("Username", exact=True))
    assert _focus_is_visible(page)
    page.keyboard.type("caseworker")
    page.keyboard.press("Tab")
    assert _focused(page, page.get_by_label("Password", exact=True))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/auth/mfa$"))
    _tab_to(page, page.get_by_label("Code", exact=True))
    page.keyboard.type(live_code(world.secrets["caseworker"]))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))

    # The menu's Cases link, then the case by its number.
    cases = page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases")
    _tab_to(page, cases)
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    number = world.case_numbers["case_own"]
    link = page.locator("#case-list").get_by_role("link", name=number, exact=True)
    _tab_to(page, link)
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)

    # The note: Tab to its field, type, Tab to its button, press Space.
    notes = page.locator("#notes")
    _tab_to(page, notes.get_by_label("Note (sealed)"))
    assert _focus_is_visible(page)
    page.keyboard.type(note)
    add = notes.get_by_role("button", name="Add note")
    _tab_to(page, add)
    assert _focus_is_visible(page)
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}#notes$"))
    expect(page.locator(".flash-error")).to_have_count(0)
    expect(page.locator("#notes article").filter(has_text="KeyboardNote-K7")).to_have_count(1)
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_the_axe_check_flags_serious_problems(browser):
    """A page with an unlabelled field, an image without text and low contrast fails."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content('<html lang="en"><head><title>Bad</title></head><body><main>'
                         '<h1>Bad</h1><img src="data:,"><input type="text">'
                         '<p style="color:#bbb;background:#fff">faint</p></main></body></html>')
        a11y = Accessibility()
        a11y.check(page)
        rules = {p.split(": ")[1].split(" ")[0] for p in a11y.problems}
        assert {"image-alt", "label", "color-contrast"} <= rules
    finally:
        context.close()


def test_pages_before_login_have_no_serious_axe_problem_in_arabic(browser, live_server, world,
                                                                  tmp_path):
    with sqlite3.connect(tmp_path / "live.db") as db:  # the live server's copy
        db.execute("UPDATE users SET language = 'ar' WHERE username IN ('caseworker', 'newbie')")
    a11y = Accessibility()
    context = browser.new_context(base_url=live_server, locale="ar")  # Accept-Language: ar
    try:
        page = context.new_page()
        # Login: blank, then refused (nothing typed), then the two-step code, blank and refused.
        page.goto("/auth/login")
        a11y.check(page, "ar")
        page.locator("#submit").click()
        expect(page.locator("#username-error-1")).to_be_visible()
        a11y.check(page, "ar")
        page.locator("#username").fill("caseworker")
        page.locator("#password").fill(PASSWORD)
        page.locator("#submit").click()
        page.wait_for_url(re.compile(r"/auth/mfa$"))
        a11y.check(page, "ar")
        page.locator("#code").fill("000000")
        page.locator("#submit").click()
        expect(page.get_by_role("alert").first).to_be_visible()  # the refusal, announced
        a11y.check(page, "ar")
        # Password reset, as someone not logged in: blank, then with a code that is not valid.
        context.clear_cookies()
        page.goto("/auth/reset")
        a11y.check(page, "ar")
        page.locator("#token").fill("ABCD-EFGH-IJKL")
        page.locator("#new").fill("a long enough password here")
        page.locator("#confirm").fill("a long enough password here")
        page.locator("#submit").click()
        expect(page.locator("#token-error-1")).to_be_visible()
        a11y.check(page, "ar")
        # First login: enrolment, refused with a wrong code, then the recovery codes.
        context.clear_cookies()
        page.goto("/auth/login")
        page.locator("#username").fill("newbie")
        page.locator("#password").fill(PASSWORD)
        page.locator("#submit").click()
        page.wait_for_url(re.compile(r"/auth/mfa/enrol$"))
        a11y.check(page, "ar")
        page.locator("#code").fill("000000")
        page.locator("#submit").click()
        expect(page.get_by_role("alert").first).to_be_visible()  # the refusal, announced
        a11y.check(page, "ar")
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        page.locator("#code").fill(live_code(secret))
        page.locator("#submit").click()
        expect(page.locator("ul.codes li")).to_have_count(10)
        a11y.check(page, "ar")
    finally:
        context.close()
    assert a11y.checked == 9
    assert a11y.problems == [], "\n".join(a11y.problems)
