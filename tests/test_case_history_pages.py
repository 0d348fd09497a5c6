"""The history page and the print views, through the browser's requests: who may see them,
what they show (and never show), and what the audit trail records."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from app.audit.actions import Action
from app.auth.models import User
from app.cases import service
from app.cases.models import Case
from app.db import db
from tests.helpers.audit import events
from tests.helpers.factories import CANARY
from tests.helpers.forms import form_tokens

NEW_NAME = "Samira Renamedcanary"


def _rename(app, world, name: str = NEW_NAME, clock=None, **over: object) -> None:
    if clock is not None:
        clock.advance(seconds=1)  # the clock is frozen in tests: each change its own moment
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        values = {f: getattr(case, f) for f in service.IDENTITY_FIELDS}
        values.update(sex=case.sex, nationality_group=case.nationality_group,
                      displacement_status=case.displacement_status, disability=case.disability,
                      full_name=name)
        values.update(over)
        service.update_identity(user, case, service.IdentityInput(**values), case.version)


def test_an_edit_through_the_form_shows_on_the_history_page_with_who_and_the_old_name(app, world,
                                                                                     auth):
    c = auth.login("caseworker")
    case_id = world.ids["case_own"]
    page = c.get(f"/cases/{case_id}/edit").get_data(as_text=True)
    data = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    data.update(form_tokens(page), full_name=NEW_NAME)
    for name in ("sex", "nationality_group", "displacement_status", "disability", "site"):
        found = re.search(rf'<select[^>]*name="{name}".*?<option[^>]*selected[^>]*value="([^"]*)"'
                          rf'|<select[^>]*name="{name}".*?<option value="([^"]*)" selected',
                          page, re.S)
        if found:
            data[name] = found.group(1) or found.group(2)
    resp = c.post(f"/cases/{case_id}/edit", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    view = c.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"/cases/{case_id}/history" in view and f"/cases/{case_id}/print" in view
    history = c.get(f"/cases/{case_id}/history").get_data(as_text=True)
    assert CANARY["own_name"] in history and "Full name" in history
    assert "Test caseworker" in history
    assert NEW_NAME not in history.split('id="changes"')[0]  # the page's title names nobody


def test_the_history_page_is_for_those_who_may_see_the_case(app, world, auth):
    _rename(app, world)
    path = f"/cases/{world.ids['case_own']}/history"
    assert CANARY["own_name"] in auth.login("supervisor").get(path).get_data(as_text=True)
    assert auth.login("caseworker_b").get(path).status_code == 404  # another site's worker
    assert auth.login("caseworker2").get(path).status_code == 404   # a colleague's case
    for role in ("auditor", "service_provider", "wgss_coordinator", "program_manager", "admin"):
        resp = auth.login(role).get(path)
        assert resp.status_code == 403, role
        assert CANARY["own_name"] not in resp.get_data(as_text=True)


def test_the_auditor_sees_that_a_change_happened_never_the_previous_values(app, world, auth):
    _rename(app, world)
    c = auth.login("auditor")
    trail = c.get("/audit/events").get_data(as_text=True)
    case_page = c.get(f"/audit/objects/case/{world.ids['case_own']}").get_data(as_text=True)
    assert "case.update" in str([e.action for e in events(app, Action.CASE_UPDATE.value)])
    for page in (trail, case_page):
        assert CANARY["own_name"] not in page and NEW_NAME not in page
    writes = [e for e in events(app, Action.RECORD_WRITE.value) if e.object_type == "case_change"]
    assert len(writes) == 1  # the history row is itself a sealed record, written once
    every = " ".join(str(v) for e in events(app) for v in vars(e).values())
    assert CANARY["own_name"] not in every and NEW_NAME not in every


def test_the_history_is_paged_newest_first_by_keyset(app, world, auth, frozen):
    for n in range(23):
        _rename(app, world, name=f"Name number {n:02d}", clock=frozen)
    c = auth.login("caseworker")
    path = f"/cases/{world.ids['case_own']}/history"
    first = c.get(path).get_data(as_text=True)
    assert first.count('class="change"') == 20
    assert first.index("Name number 21") < first.index("Name number 20")  # newest first
    older = re.search(r'href="([^"]*after=[^"]*)"', first)
    assert older
    second = c.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('class="change"') == 3 and "Name number 00" in second
    newer = re.search(r'href="([^"]*before=[^"]*)"', second)
    assert newer and c.get(newer.group(1).replace("&amp;", "&")).get_data(
        as_text=True).count('class="change"') == 20
    # An anchor that is not one of this case's changes gives the first page.
    assert c.get(f"{path}?after={uuid.uuid4()}").get_data(as_text=True).count(
        'class="change"') == 20


def test_a_change_says_what_it_was_changed_to_when_a_newer_one_shows_it(app, world, auth,
                                                                         frozen):
    _rename(app, world, name="Middle Name", clock=frozen)
    _rename(app, world, name="Last Name", clock=frozen)
    page = auth.login("caseworker").get(f"/cases/{world.ids['case_own']}/history")
    rows = re.findall(r'<td class="previous">(.*?)</td><td>(.*?)</td>',
                      page.get_data(as_text=True))
    assert [(re.sub("<[^>]+>", "", a), re.sub("<[^>]+>", "", b)) for a, b in rows] == [
        ("Middle Name", "changed"), (CANARY["own_name"], "Middle Name")]


# --- Printing ---------------------------------------------------------------------------


def _title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found
    return found.group(1)


def test_the_case_summary_prints_confidential_uncached_audited_and_without_a_name_in_title(
        app, world, auth):
    c = auth.login("caseworker")
    resp = c.get(f"/cases/{world.ids['case_own']}/print")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert CANARY["own_name"] in html and CANARY["own_narrative"] in html  # the summary
    assert CANARY["own_name"] not in _title(html) and "Zainab" not in _title(html)
    assert world.case_numbers["case_own"] in _title(html)
    assert 'id="print-mark-top"' in html and 'id="print-mark-bottom"' in html
    assert html.count("Confidential") >= 2
    assert "<form" not in html.split('class="print-sheet"')[1]  # nothing to do on paper
    printed = [e for e in events(app, Action.CASE_PRINT.value)
               if e.object_id == world.ids["case_own"]]
    assert len(printed) == 1 and printed[0].outcome == "allowed"
    assert not [e for e in events(app, Action.CASE_VIEW.value)
                if e.object_id == world.ids["case_own"] and e.reason == "cases.print_summary"]


def test_the_print_stylesheet_repeats_the_marks_on_every_sheet_and_hides_the_menu(app, auth):
    from pathlib import Path

    css = Path(app.static_folder or "", "css", "print.css").read_text()
    assert re.search(r"\.print-mark-top, \.print-mark-bottom \{[^}]*position: fixed", css)
    hidden = re.search(r"\n([^{]*)\{ display: none; \}", css)
    assert hidden and ".site-header" in hidden.group(1) and ".no-print" in hidden.group(1)
    page = auth.login("caseworker").get("/").get_data(as_text=True)
    assert re.search(r'<link rel="stylesheet" href="[^"]*print\.css[^"]*" media="print">', page)


def _shared(html: str, marker: str) -> list[tuple[str, str]]:
    """(label, value) of the shared fields listed after ``marker``, tags removed."""
    part = html.split(marker, 1)[1].split("</dl>", 1)[0]
    return [(re.sub("<[^>]+>", "", k), re.sub("<[^>]+>", "", v))
            for k, v in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", part)]


def test_the_referral_form_holds_exactly_the_shared_fields_for_sender_and_provider(app, world,
                                                                                 auth):
    ref = world.ids["ref_mhpss"]
    sender, provider = auth.login("caseworker"), auth.login("service_provider")
    for client, page_path, marker, print_path in (
            (sender, f"/referrals/{ref}/sent", "What was shared", f"/referrals/{ref}/sent/print"),
            (provider, f"/referrals/{ref}", 'id="shared"', f"/referrals/{ref}/print")):
        page = client.get(page_path).get_data(as_text=True)
        assert print_path in page  # linked from the referral's page
        resp = client.get(print_path)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
        printed = _shared(html, 'id="shared-fields"')
        assert printed == _shared(page, marker)  # the same values the page shows, no more
        assert len(printed) == 5 and ("Full name", CANARY["own_name"]) in printed
        assert CANARY["message"] in html
        # On the case (some consented for other services), not shared by this referral: absent.
        for not_shared in (CANARY["own_alias"], CANARY["own_location"], "333 0202",
                           CANARY["own_narrative"]):
            assert not_shared not in html
        assert CANARY["own_name"] not in _title(html)
        assert html.count("Confidential") >= 2
    printed_events = [e for e in events(app, Action.REFERRAL_PRINT.value) if e.object_id == ref]
    assert len(printed_events) == 2 and {e.outcome for e in printed_events} == {"allowed"}


def test_the_referral_form_is_for_its_sender_and_its_recipient_only(app, world, auth):
    legal = world.ids["ref_legal"]
    assert auth.login("service_provider").get(f"/referrals/{legal}/print").status_code == 404
    assert auth.login("caseworker_b").get(
        f"/referrals/{world.ids['ref_mhpss']}/sent/print").status_code == 404
    assert auth.login("auditor").get(f"/referrals/{legal}/print").status_code == 403
    denied = [e for e in events(app, Action.REFERRAL_PRINT.value) if e.outcome == "denied"]
    assert len(denied) == 2


def test_printed_pages_are_translated_and_right_to_left(app, world, auth):
    with app.app_context():
        for name in ("caseworker", "service_provider"):
            db.session.execute(select(User).where(User.username == name)).scalar_one(
                ).language = "ar"
        db.session.commit()
    for who, path in (("caseworker", f"/cases/{world.ids['case_own']}/print"),
                      ("service_provider", f"/referrals/{world.ids['ref_mhpss']}/print")):
        html = auth.login(who).get(path).get_data(as_text=True)
        assert '<html lang="ar" dir="rtl">' in html
        assert "Confidential" not in html and "سري" in html


def test_a_moved_case_shows_the_previous_site_by_its_name(app, world, auth, frozen):
    """A case moved to another site (a transfer does this) names the site, never an id."""
    from app.cases import history

    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        boss = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        with history.changed_by(boss):
            case.site_id = uuid.UUID(world.ids["benghazi"])
            db.session.commit()
        frozen.advance(seconds=1)
        with history.changed_by(boss):
            case.site_id = uuid.UUID(world.ids["tripoli"])
            db.session.commit()
    page = auth.login("caseworker").get(f"/cases/{world.ids['case_own']}/history")
    html = page.get_data(as_text=True)
    rows = re.findall(r'<td class="previous">(.*?)</td><td>(.*?)</td>', html)
    assert [(re.sub("<[^>]+>", "", a), re.sub("<[^>]+>", "", b)) for a, b in rows] == [
        ("Benghazi", "changed"), ("Tripoli", "Benghazi")]
    assert world.ids["benghazi"] not in html and "Test supervisor" in html
