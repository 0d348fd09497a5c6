"""The confidentiality pledge: an organisation publishes versions, each account accepts the
current one before any page, acceptances are audited and listed for the organisation's admins.
"""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from app.audit.models import AuditEvent
from app.auth import mfa, passwords
from app.auth.models import PledgeAcceptance, User
from app.clock import utcnow
from app.db import db
from app.directory.models import PLEDGE_TEXT_MAX, Organisation, OrganisationPledge
from tests.authz_matrix import MATRIX
from tests.helpers.codes import code_at
from tests.helpers.factories import ROLES
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.login import PASSWORD
from tests.helpers.routes import fill_path, send

TEXT = "I keep confidential everything I learn about the people we serve."
TEXT_AR = "أحافظ على سرية كل ما أعرفه عمن نخدمهم."
PLEDGE_ENDPOINTS = {"auth.pledge", "auth.logout", "auth.lock", "auth.keepalive"}


def publish(auth: Any, text: str = TEXT, text_ar: str = "", admin: FlaskClient | None = None,
            expect: int = 302) -> Any:
    """The admin publishes a version through the page (and accepts it, when it was published,
    so the same client can go on); returns the response to the publish."""
    admin = admin or auth.login("admin")
    page = admin.get("/admin/pledge/new")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    after = html.split('name="after" type="hidden" value="')[1].split('"')[0]
    resp = admin.post("/admin/pledge/new", data={**form_tokens(html), "after": after,
                                                 "text_en": text, "text_ar": text_ar})
    assert resp.status_code == expect, resp.get_data(as_text=True)[:300]
    return resp


def accept(client: FlaskClient, *, next_url: str = "", tick: bool = True) -> Any:
    page = client.get("/auth/pledge" + (f"?next={next_url}" if next_url else ""))
    html = page.get_data(as_text=True)
    number = html.split('name="number" type="hidden" value="')[1].split('"')[0]
    data = {"csrf_token": csrf_from(html), "number": number,
            "next": html.split('name="next" type="hidden" value="')[1].split('"')[0]}
    if tick:
        data["accept"] = "y"
    return client.post("/auth/pledge", data=data)


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.seq)).scalars())


def event_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def org_number(app: Flask, org_id: str) -> int | None:
    with app.app_context():
        return db.session.get(Organisation, uuid.UUID(org_id)).pledge_number


def _gated(resp: Any) -> bool:
    return resp.status_code in (302, 303) and "/auth/pledge" in (resp.location or "")


def _script_told(resp: Any) -> bool:
    """A script's endpoint (``app.core.jsonapi``) is not sent to the page: it is told (403)."""
    return resp.status_code == 403 and resp.get_json()["error"] == "account_action_needed"


# --- The gate ------------------------------------------------------------------------------

def test_without_a_pledge_nobody_is_asked(auth):
    cw = auth.login("caseworker")
    assert cw.get("/cases/").status_code == 200
    page = cw.get("/auth/pledge").get_data(as_text=True)
    assert "has not published a pledge" in page and 'name="accept"' not in page


@pytest.mark.parametrize("role", ROLES)
def test_every_page_waits_for_the_pledge_then_opens(app, auth, world, role):
    """Each role, after a pledge is published: every GET route of the matrix it may open
    leads to the pledge page (the way back kept), every other request is not done; after the
    tick the page it asked for opens, and the acceptance is on the trail."""
    publish(auth, admin=auth.login("admin2"))
    client = auth.login(role)
    for row in MATRIX:
        if row.endpoint in PLEDGE_ENDPOINTS or role not in row.allowed or row.method != "GET":
            continue
        resp = send(client, row, fill_path(row.path, app, world, role), None)
        if row.json:
            assert _script_told(resp), row.endpoint
            continue
        assert _gated(resp), (row.endpoint, resp.status_code)
        assert "next=" in resp.location, row.endpoint
    first = client.get("/")
    assert _gated(first) and first.location.endswith("/auth/pledge?next=/")
    assert client.post("/auth/keepalive", data={"csrf_token": auth.csrf(client, "/auth/pledge")}
                       ).status_code == 204
    resp = accept(client, next_url="/auth/sessions")
    assert resp.status_code == 302 and resp.location.endswith("/auth/sessions")
    assert client.get("/").status_code == 200
    done = [e for e in events(app, "pledge.accept") if str(e.actor_id) == world.users[role]]
    assert len(done) == 1 and done[0].object_type == "pledge" and done[0].reason == "version=1"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(PledgeAcceptance).where(
            PledgeAcceptance.user_id == uuid.UUID(world.users[role]))).scalar_one() == 1


@pytest.mark.parametrize("role", ("caseworker", "admin"))
def test_a_post_while_the_pledge_waits_changes_nothing(app, auth, world, role):
    """Every POST route of the matrix the role may use, sent with a valid CSRF token while the
    pledge waits: sent to the pledge page, nothing written (not even an audit event)."""
    publish(auth, admin=auth.login("admin2"))
    client = auth.login(role)
    token = auth.csrf(client, "/auth/pledge")
    before = event_count(app)
    for row in MATRIX:
        if row.endpoint in PLEDGE_ENDPOINTS or role not in row.allowed or row.method == "GET":
            continue
        path = fill_path(row.path, app, world, role)
        before = event_count(app)  # a file made for the row (``{file:...}``) is not the POST's
        resp = send(client, row, path, token)
        if row.json:
            assert _script_told(resp), row.endpoint
        else:
            assert resp.status_code == 303 and resp.location.endswith("/auth/pledge"), \
                row.endpoint
        assert event_count(app) == before, row.endpoint
    page = client.get("/auth/pledge").get_data(as_text=True)
    assert "Nothing was saved" in page


def test_the_box_must_be_ticked(app, auth, world):
    publish(auth, admin=auth.login("admin2"))
    cw = auth.login("caseworker")
    resp = accept(cw, tick=False)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="accept-error-1"' in html and 'aria-describedby="accept-error-1"' in html
    assert "checked" not in html.split('name="accept"')[1].split(">")[0]
    assert _gated(cw.get("/"))
    assert events(app, "pledge.accept") == []


def test_a_new_version_gates_the_next_request_and_the_old_one_cannot_be_accepted(app, auth):
    admin2 = auth.login("admin2")
    publish(auth, admin=admin2)
    cw = auth.login("caseworker")
    old = cw.get("/auth/pledge").get_data(as_text=True)
    accept(cw)
    assert cw.get("/").status_code == 200
    accept(admin2)
    publish(auth, text=TEXT + " Also on my phone.", admin=admin2)
    assert _gated(cw.get("/cases/"))  # the same session, at its next request
    resp = cw.post("/auth/pledge", data={"csrf_token": csrf_from(old), "number": "1",
                                         "accept": "y"})
    assert resp.status_code == 302 and _gated(cw.get("/"))
    assert "Also on my phone." in cw.get("/auth/pledge").get_data(as_text=True)
    accept(cw)
    assert cw.get("/cases/").status_code == 200
    assert [e.reason for e in events(app, "pledge.accept")
            if str(e.actor_id) == auth.world.users["caseworker"]] == ["version=1", "version=2"]


def test_accepting_twice_records_it_once_and_next_stays_local(app, auth):
    publish(auth, admin=auth.login("admin2"))
    cw = auth.login("caseworker")
    page = cw.get("/auth/pledge?next=//evil.example/x").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "number": "1", "accept": "y",
            "next": "//evil.example/x"}
    first = cw.post("/auth/pledge", data=data)
    assert first.status_code == 302 and first.location == "/"
    assert cw.post("/auth/pledge", data=data).status_code == 302
    assert len(events(app, "pledge.accept")) == 1
    page = cw.get("/auth/pledge").get_data(as_text=True)
    assert "You accepted this version" in page and 'name="accept"' not in page


def test_the_text_is_shown_in_the_users_language_with_english_fallback(app, auth, world):
    admin2 = auth.login("admin2")
    publish(auth, text_ar=TEXT_AR, admin=admin2)
    with app.app_context():
        db.session.get(User, uuid.UUID(world.users["caseworker"])).language = "ar"
        db.session.commit()
    ar = auth.login("caseworker").get("/auth/pledge").get_data(as_text=True)
    en = auth.login("supervisor").get("/auth/pledge").get_data(as_text=True)
    assert TEXT_AR in ar and TEXT not in ar
    assert TEXT in en and TEXT_AR not in en
    accept(admin2)
    publish(auth, text="Second version, English only.", admin=admin2)
    assert "Second version, English only." in auth.login("caseworker").get(
        "/auth/pledge").get_data(as_text=True)


def test_moving_to_another_organisation_asks_again(app, world):
    """A version number accepted in one organisation means nothing in another."""
    from app.admin import service as admin_service
    from app.auth.models import User as Account

    with app.app_context():
        user = db.session.get(Account, uuid.UUID(world.users["program_manager"]))
        user.pledge_accepted = 1
        other = db.session.get(Organisation, uuid.UUID(world.ids["other_org"]))
        other.pledge_number = 1
        db.session.commit()
        admin_service.apply_scope(user, admin_service.AccountSpec(
            username=user.username, display_name=user.display_name, role=user.role,
            organisation=other, sites=[], safe_spaces=[], service=None))
        db.session.commit()
        assert user.pledge_accepted is None and user.pledge_pending


# --- Publishing and the list -----------------------------------------------------------------

def test_publishing_is_audited_and_never_edits_a_version(app, auth, world):
    admin = auth.login("admin")
    publish(auth, admin=admin)
    accept(admin)
    publish(auth, text=TEXT + " Corrected.", admin=admin)
    with app.app_context():
        rows = db.session.execute(select(OrganisationPledge).order_by(
            OrganisationPledge.number)).scalars().all()
        assert [(p.number, p.text_en) for p in rows] == [(1, TEXT), (2, TEXT + " Corrected.")]
        assert all(str(p.published_by_id) == world.users["admin"] for p in rows)
    assert org_number(app, world.ids["org"]) == 2
    published = events(app, "pledge.publish")
    assert [e.reason for e in published] == ["version=1", "version=2"]
    assert {str(e.object_id) for e in published} == {str(p.id) for p in rows}


@pytest.mark.parametrize(("text", "message"), [
    ("   ", "Write the text of the pledge."),
    ("x" * (PLEDGE_TEXT_MAX + 1), "cannot be longer than"),
])
def test_bad_text_is_refused_beside_the_field(app, auth, world, text, message):
    resp = publish(auth, text=text, expect=200)
    html = resp.get_data(as_text=True)
    assert 'id="text_en-error-1"' in html and message in html
    assert org_number(app, world.ids["org"]) is None
    assert events(app, "pledge.publish") == []


def test_too_long_arabic_is_refused_beside_its_field(app, auth, world):
    html = publish(auth, text_ar="x" * (PLEDGE_TEXT_MAX + 1), expect=200).get_data(as_text=True)
    assert 'id="text_ar-error-1"' in html
    assert org_number(app, world.ids["org"]) is None


def test_a_version_published_meanwhile_refuses_the_older_form(app, auth, world):
    admin = auth.login("admin")
    page = admin.get("/admin/pledge/new").get_data(as_text=True)
    publish(auth, admin=auth.login("admin2"))
    resp = admin.post("/admin/pledge/new", data={**form_tokens(page), "after": "",
                                                 "text_en": "Mine."})
    assert resp.status_code == 303  # the admin must accept the new version first
    accept(admin)
    resp = admin.post("/admin/pledge/new", data={**form_tokens(page), "after": "",
                                                 "text_en": "Mine."})
    assert resp.status_code == 200 and "published meanwhile" in resp.get_data(as_text=True)
    assert org_number(app, world.ids["org"]) == 1


def test_the_list_shows_who_accepted_and_who_has_not_yet(app, auth, world):
    admin2 = auth.login("admin2")
    publish(auth, admin=admin2)
    accept(admin2)
    accept(auth.login("caseworker"))
    page = admin2.get("/admin/pledge").get_data(as_text=True)
    rows = {r.split("</a>")[0].rsplit(">", 1)[1]: r for r in page.split("<tr>")[2:]}
    assert "Not yet" not in rows["caseworker"] and "Not yet" in rows["supervisor"]
    assert "Not yet" not in rows["admin2"]
    assert "gone" not in rows  # deactivated accounts are not asked
    active = sum(1 for _ in rows)
    assert f"Accepted: 2 of {active} active accounts." in page
    assert events(app, "pledge.view")


def test_the_list_is_paged(app, auth, world):
    with app.app_context():
        pw = passwords.hash_password(PASSWORD)
        for n in range(55):
            db.session.add(User(username=f"bulk{n:02d}", display_name=f"Bulk {n}",
                                organisation_id=uuid.UUID(world.ids["org"]), role="auditor",
                                password_hash=pw, password_changed_at=utcnow()))
        db.session.commit()
    admin2 = auth.login("admin2")
    publish(auth, admin=admin2)
    accept(admin2)
    first = admin2.get("/admin/pledge").get_data(as_text=True)
    second = admin2.get("/admin/pledge?page=2").get_data(as_text=True)
    # by username: admin, admin2, auditor, then bulk00... (fifty a page)
    assert "bulk46" in first and "bulk47" not in first and "?page=2" in first
    assert "bulk47" in second and "bulk46" not in second


def _other_admin(app: Flask, world: Any, frozen: Any) -> FlaskClient:
    """An admin of the partner organisation, signed in."""
    secret = pyotp.random_base32(32)
    with app.app_context():
        user = User(username="partner_admin", display_name="Partner Admin", role="admin",
                    organisation_id=uuid.UUID(world.ids["other_org"]),
                    password_hash=passwords.hash_password(PASSWORD),
                    password_changed_at=utcnow(), mfa_enrolled_at=utcnow())
        db.session.add(user)
        db.session.flush()
        mfa.store_secret(user, secret)
        db.session.commit()
    c = app.test_client()
    page = c.get("/auth/login").get_data(as_text=True)
    c.post("/auth/login", data={"username": "partner_admin", "password": PASSWORD,
                                "csrf_token": csrf_from(page)})
    page = c.get("/auth/mfa").get_data(as_text=True)
    frozen.advance(seconds=31)
    resp = c.post("/auth/mfa", data={"code": code_at(secret, frozen.now),
                                     "csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    return c


def test_another_organisations_admin_neither_sees_nor_publishes_yours(app, auth, world, frozen):
    publish(auth, admin=auth.login("admin2"))
    partner = _other_admin(app, world, frozen)
    page = partner.get("/admin/pledge").get_data(as_text=True)
    assert TEXT not in page and "has not published a pledge" in page
    assert "supervisor" not in page
    publish(auth, text="Partner rules.", admin=partner)
    assert org_number(app, world.ids["org"]) == 1 and org_number(app, world.ids["other_org"]) == 1
    with app.app_context():
        texts = dict(db.session.execute(select(OrganisationPledge.organisation_id,
                                               OrganisationPledge.text_en)).all())
    assert texts[uuid.UUID(world.ids["org"])] == TEXT
    # the partner's version gates the partner's accounts only
    cw = auth.login("supervisor")
    assert TEXT in cw.get("/auth/pledge").get_data(as_text=True)


def test_a_retried_publish_makes_one_version(app, auth, world):
    admin = auth.login("admin")
    html = admin.get("/admin/pledge/new").get_data(as_text=True)
    data = {**form_tokens(html), "after": "", "text_en": TEXT}
    assert admin.post("/admin/pledge/new", data=data).status_code == 302
    assert _gated(admin.post("/admin/pledge/new", data=data))  # not even read while gated
    accept(admin)
    assert admin.post("/admin/pledge/new", data=data).status_code == 302
    assert org_number(app, world.ids["org"]) == 1
    assert len(events(app, "pledge.publish")) == 1


# --- Cost ------------------------------------------------------------------------------------

def _statements(app: Flask, client: FlaskClient, path: str) -> int:
    seen: list[str] = []

    def note(_conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK",
                                                      "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(seen)


def test_the_gate_adds_no_statement_to_a_page(app, auth, world):
    cw = auth.login("caseworker")
    path = f"/cases/{world.ids['case_own']}"
    cw.get(path)
    without = _statements(app, cw, path)
    publish(auth, admin=auth.login("admin2"))
    accept(cw)
    cw.get(path)
    assert _statements(app, cw, path) == without


def test_two_acceptances_at_once_record_one(app, auth, world, monkeypatch):
    """The same form sent twice at once: the second finds the first's row only when it
    inserts (unique per version and account), and answers as a retry instead of failing."""
    from app.auth import pledge as pledges

    publish(auth, admin=auth.login("admin2"))
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        current = pledges.pledge_for(user)
        db.session.add(PledgeAcceptance(pledge_id=current.id, user_id=user.id,
                                        accepted_at=utcnow()))  # the other request's row
        db.session.commit()
        real, calls = pledges.accepted_at, []

        def not_yet_seen(*args: Any) -> Any:
            calls.append(1)
            return None if len(calls) == 1 else real(*args)

        monkeypatch.setattr(pledges, "accepted_at", not_yet_seen)
        assert pledges.accept(user, current.number) is False
        assert len(calls) == 2
    assert events(app, "pledge.accept") == []
