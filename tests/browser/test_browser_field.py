"""Proof on the device: the offline field intake in a real browser (Chromium, Playwright's
offline mode).

A caseworker opens Field intake online (the service worker installs and keeps the allowlist,
which is listed exactly), goes offline (the server then sees no request at all, and a page
not kept fails), reloads the shell from the cache, is refused before sealing for bad input
(no consent to services, a classification question unanswered, a future incident date:
nothing stored, the messages beside the fields), captures an intake with canary strings in
every typed field, and saves it: the form is empty, the count says 1, and the origin's
IndexedDB (every database and store), Cache Storage (every response body), localStorage,
sessionStorage and cookies hold no canary. The Arabic shell works offline too. Back online,
the envelope is sent, the count is 0, and on the server the pending intake opens with every
field as typed and the capture time of the save. Once the session has ended, the kept form
still opens and sending asks to sign in.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from app import clock
from tests.helpers.apps import make_app
from tests.helpers.browser import Accessibility, log_in

ALLOW = ["/field/shell/en", "/field/shell/ar", "/field/setup.json", "/static/js/field-intake.js",
         "/static/css/amana.css", "/static/favicon.svg"]
CANARY = {
    "person-full_name": "Canary Nameqx7",
    "person-alias": "Canary Aliasqx7",
    "person-phone": "+218 91 736 4419",
    "person-location": "Canary Locationqx7",
    "person-safe_contact": "Canary Safecontactqx7",
    "incident-location_detail": "Canary Placeqx7",
    "incident-perpetrator_details": "Canary Perpqx7",
    "incident-narrative": "Canary Narrativeqx7 سر",
}
NEEDLES = [*CANARY.values(), "qx7", "736 4419", "7364419", "Canary"]

STORAGE = """async () => {
  const out = [];
  const read = (req) => new Promise((ok, ko) => { req.onsuccess = () => ok(req.result);
                                                  req.onerror = () => ko(req.error); });
  for (const info of await indexedDB.databases()) {
    const db = await read(indexedDB.open(info.name));
    for (const name of db.objectStoreNames) {
      const store = db.transaction(name).objectStore(name);
      out.push(JSON.stringify({db: info.name, store: name, keys: await read(store.getAllKeys()),
                               values: await read(store.getAll())}));
    }
    db.close();
  }
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) out.push(req.url, await (await cache.match(req)).text());
  }
  out.push(JSON.stringify(Object.entries(localStorage)), JSON.stringify(Object.entries(sessionStorage)),
           document.cookie);
  return out.join("\\n");
}"""

CACHED = """async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const requests = await (await caches.open(name)).keys();
    out[name] = requests.map((r) => new URL(r.url).pathname + new URL(r.url).search);
  }
  return out;
}"""

ENVELOPES = """async () => {
  const read = (req) => new Promise((ok) => { req.onsuccess = () => ok(req.result); });
  const db = await read(indexedDB.open('amana-field'));
  const all = await read(db.transaction('envelopes').objectStore('envelopes').getAll());
  db.close();
  return all;
}"""

# Copies of the kept envelope dated ``ages`` milliseconds ago, under new submission ids (they
# would not open on the server: the test removes them with DROP before it syncs).
AGED = """async (ages) => {
  const read = (req) => new Promise((ok) => { req.onsuccess = () => ok(req.result); });
  const db = await read(indexedDB.open('amana-field'));
  const store = () => db.transaction('envelopes', 'readwrite').objectStore('envelopes');
  const [kept] = await read(store().getAll());
  for (const age of ages) await read(store().add({ ...kept, sid: crypto.randomUUID(),
                                                   at: Date.now() - age }));
  db.close();
}"""
DROP = """async (keep) => {
  const read = (req) => new Promise((ok) => { req.onsuccess = () => ok(req.result); });
  const db = await read(indexedDB.open('amana-field'));
  for (const e of await read(db.transaction('envelopes').objectStore('envelopes').getAll())) {
    if (e.sid !== keep) await read(db.transaction('envelopes', 'readwrite')
                                     .objectStore('envelopes').delete(e.sid));
  }
  db.close();
}"""
DAY_MS = 86_400_000

# What is still in the form: typed text, a ticked choice, a select moved off "Choose…".
VALUES = """() => Array.from(document.getElementById('field-form').elements)
  .filter((e) => e.name && !['button', 'submit'].includes(e.type))
  .map((e) => {
    if (['radio', 'checkbox'].includes(e.type)) return e.checked ? e.name : '';
    if (e.tagName === 'SELECT') return e.selectedIndex > 0 && e.options[0].value === '' ? e.name : '';
    return e.value;
  })
  .filter((v) => v)"""


class Counting:
    """The app, counting the requests that reach it (none may while the browser is offline).

    While ``offline`` is set the network is down on the server's side too: a request that
    gets past the browser's offline emulation is recorded and answered 503 with nothing in
    it, as a device without a network gets no answer, and never reaches the app."""

    def __init__(self, app: Any) -> None:
        self.app, self.requests = app, []
        self.offline = False

    def __call__(self, environ: dict[str, Any], start: Any) -> Any:
        self.requests.append((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))
        if self.offline:
            start("503 Service Unavailable", [("Content-Length", "0"),
                                              ("Cache-Control", "no-store")])
            return [b""]
        return self.app(environ, start)


@pytest.fixture
def served(template, instance_dir, tmp_path) -> Iterator[tuple[str, Any, Counting]]:
    """The app on 127.0.0.1 with a real clock, and the app object to look at its database."""
    import sqlalchemy as sa

    clock.freeze(None)
    uri, _world = template
    dst = tmp_path / "live.db"
    shutil.copyfile(Path(sa.make_url(uri).database or ""), dst)
    app = make_app(f"sqlite:///{dst}", instance_dir)
    counting = Counting(app)
    server = make_server("127.0.0.1", 0, counting, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.port}", app, counting
    server.shutdown()


def _fill(page: Page, *, services: str = "Given", penetration: str | None = "No",
          incident: date | None = None) -> None:
    """A whole intake, as a person fills it (with the canaries in every typed field)."""
    form = page.locator("#field-form")
    form.locator("#consent-services-group").get_by_label(services, exact=True).check()
    form.locator("#consent-reporting-group").get_by_label("Refused", exact=True).check()
    form.locator("#consent-share_mhpss-group").get_by_label("Yes", exact=True).check()
    for name, value in CANARY.items():
        form.locator(f"[name='{name}']").fill(value)
    form.locator("[name='person-estimated_age']").fill("29")
    for name, value in (("person-sex", "female"), ("person-nationality_group", "national"),
                        ("person-displacement_status", "idp"), ("person-disability", "no"),
                        ("incident-location_type", "market"), ("incident-perpetrator_count", "1"),
                        ("incident-perpetrators-0-sex", "male"),
                        ("incident-perpetrators-0-age_group", "26_40"),
                        ("incident-perpetrators-0-relationship", "intimate_partner"),
                        ("incident-perpetrators-0-occupation", "teacher_education"),
                        ("incident-time_of_day", "evening_night"),
                        ("incident-displacement_stage", "during_refuge")):
        form.locator(f"[name='{name}']").select_option(value)
    form.locator("[name='incident-incident_date']").fill(
        (incident or date.today() - timedelta(days=1)).isoformat())
    form.locator("[name='incident-incident_time']").fill("21:30")
    form.locator("[name='incident-survivor_age_at_incident']").fill("29")
    for key in ("penetration", "sexual_contact", "physical", "forced_marriage", "denial",
                "psychological", "exchange", "abducted", "harmful_practice"):
        answer = penetration if key == "penetration" else ("Yes" if key == "physical" else "No")
        if answer:
            form.locator(f"#incident-{key}-group").get_by_label(answer, exact=True).check()
    page.get_by_label(re.compile("^Urgent")).check()


def _refused(page: Page, where: str, message: str) -> None:
    page.get_by_role("button", name="Seal and keep on this device").click()
    expect(page.locator(f"{where} .js-error")).to_have_text(message)
    expect(page.locator("#field-errors")).to_be_visible()
    assert page.evaluate(ENVELOPES) == []


def test_capture_offline_leaves_nothing_readable_and_syncs(browser, served, world):
    base, app, counting = served
    context = browser.new_context(base_url=base, locale="en-GB", service_workers="allow")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    a11y = Accessibility()
    try:
        log_in(page, "caseworker", world.secrets["caseworker"])
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Field intake").click()
        page.wait_for_url(re.compile(r"/field/shell/en$"))
        page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        # The worker keeps exactly the allowlist, in one cache.
        kept = page.evaluate(CACHED)
        assert list(kept) == ["amana-field-v1"] and sorted(kept["amana-field-v1"]) == sorted(ALLOW)
        expect(page.locator("#field-count")).to_have_text("0 intakes waiting to send")
        a11y.check(page, "en")

        context.set_offline(True)
        counting.offline = True
        counting.requests.clear()
        failed = page.evaluate("() => fetch('/cases/').then(() => 'reached', () => 'failed')")
        assert failed == "failed"
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Field intake")
        expect(page.locator("#field-count")).to_have_text("0 intakes waiting to send")

        # Bad input is refused before sealing, each with the field's own message beside it.
        _fill(page, penetration=None)
        _refused(page, "#incident-penetration-group", "Answer this question.")
        expect(page.locator("#field-form .js-error")).to_have_count(1)
        a11y.check(page, "en")
        _fill(page, services="Refused")
        _refused(page, "#consent-services-group", re.compile("needs the survivor's consent"))
        expect(page.locator("#field-form .js-error")).to_have_count(1)
        _fill(page, incident=date.today() + timedelta(days=2))
        _refused(page, ".field:has(#incident-incident_date)", "This date is in the future.")

        _fill(page)
        expected = page.evaluate("""() => { const out = {};
          for (const [k, v] of new FormData(document.getElementById('field-form'))) {
            out[k] = k in out ? [].concat(out[k], v) : v;
          }
          return out; }""")
        before = time.time()
        page.get_by_role("button", name="Seal and keep on this device").click()
        expect(page.locator("#field-count")).to_have_text("1 intake waiting to send")
        after = time.time()
        expect(page.locator("#field-message")).to_contain_text("Saved and sealed")
        assert page.evaluate(VALUES) == [], "the form is not empty after saving"
        stored = page.evaluate(ENVELOPES)
        assert len(stored) == 1 and sorted(stored[0]) == sorted(
            ["v", "kid", "sid", "uid", "did", "at", "enc", "ct"])
        assert stored[0]["uid"] == world.users["caseworker"]
        everything = page.evaluate(STORAGE)
        assert "amana-field" in everything and "/field/shell/en" in everything  # it did read
        for needle in NEEDLES:
            assert needle not in everything, needle

        # Envelopes near the server's maximum age (7 days) are named with the time they stop
        # being accepted; older ones are said to be refused. Fresh ones raise nothing.
        expect(page.locator("#field-ageing")).to_be_hidden()
        expect(page.locator("#field-too-old")).to_be_hidden()
        page.evaluate(AGED, [6 * DAY_MS + 3_600_000, 6 * DAY_MS, 8 * DAY_MS])
        page.reload()
        expect(page.locator("#field-count")).to_have_text("4 intakes waiting to send")
        expect(page.locator("#field-ageing")).to_have_text(re.compile(
            r"^2 intakes must be sent before \S.*: after that the server refuses them\.$"))
        expect(page.locator("#field-too-old")).to_have_text(
            "1 intake is too old to be received and will be refused: record it again.")
        page.evaluate(DROP, stored[0]["sid"])
        page.reload()
        expect(page.locator("#field-count")).to_have_text("1 intake waiting to send")
        expect(page.locator("#field-ageing")).to_be_hidden()

        # The other language's shell works offline too.
        page.locator("#field-other-language").click()
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("html")).to_have_attribute("lang", "ar")
        expect(page.locator("#field-count")).to_contain_text("1")
        page.locator("#field-other-language").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        # Nothing was sent while offline. Two kinds of request get past Chromium's offline
        # emulation: the browser's own check for a newer worker script (made when the page
        # registers it) and, now and then, the sign-in probe (GET /field/sync) of a page just
        # loaded (seen on a busy CI machine). Both are GETs carrying nothing from the device; a
        # device without a network fails them, as the 503 above does, and keeps what it has.
        # Anything else (above all a POST: envelopes leaving the device) fails the test.
        reached = [r for r in counting.requests
                   if r not in {("GET", "/field/sw.js"), ("GET", "/field/sync")}]
        assert reached == [], f"requests reached the server while offline: {reached}"
        counting.offline = False
        context.set_offline(False)
        page.get_by_role("button", name="Send now").click()
        expect(page.locator("#field-count")).to_have_text("0 intakes waiting to send")
        assert page.evaluate(ENVELOPES) == []
        page.goto("/field/shell/ar")
        a11y.check(page, "ar")
        # The session ends: the kept form still opens (and would still seal); sending asks to
        # sign in.
        context.clear_cookies()
        page.goto("/field/shell/en")
        expect(page.get_by_role("heading", level=1)).to_have_text("Field intake")
        page.get_by_role("button", name="Send now").click()
        expect(page.get_by_role("link", name="Sign in to send")).to_be_visible()
        # After all of it the cache still holds the allowlist only (the login page answered for
        # the shell was not kept in its place).
        kept = page.evaluate(CACHED)
        assert list(kept) == ["amana-field-v1"] and sorted(kept["amana-field-v1"]) == sorted(ALLOW)
        shell = page.evaluate("async () => (await caches.match('/field/shell/en')).text()")
        assert 'id="field-form"' in shell and 'name="password"' not in shell
        assert a11y.problems == []
        assert errors == []
    finally:
        context.close()

    _check_on_server(app, world, expected, before, after)


def _check_on_server(app: Any, world: Any, expected: dict[str, Any], before: float,
                     after: float) -> None:
    from sqlalchemy import select

    from app.db import db
    from app.field.models import FieldIntake, IntakeStatus
    from app.field.payload import parse, read

    with app.app_context():
        intakes = db.session.scalars(select(FieldIntake)).all()
        assert len(intakes) == 1
        intake = intakes[0]
        assert str(intake.user_id) == world.users["caseworker"]
        assert intake.status == IntakeStatus.PENDING and intake.urgent
        assert before - 1 <= intake.captured_at.timestamp() <= after + 1
        sent = parse(intake.payload or "")
        assert sent.to_dict(flat=False) == {k: v if isinstance(v, list) else [v]
                                             for k, v in expected.items()
                                             if k != "incident-reported_date"} | {
            "incident-reported_date": [date.today().isoformat()]}
        forms = read(intake)
        assert forms.person.full_name.data == CANARY["person-full_name"]
        assert forms.person.phone.data == CANARY["person-phone"]
        assert forms.incident.narrative.data == CANARY["incident-narrative"]
        assert forms.incident.location_detail.data == CANARY["incident-location_detail"]
        assert forms.consent.services.data == "yes" and forms.consent.shares() == {"mhpss": True}
        assert forms.incident.penetration.data == "no" and forms.incident.physical.data == "yes"
        assert forms.incident.incident_date.data == date.today() - timedelta(days=1)
        assert forms.errors == {}, forms.errors
