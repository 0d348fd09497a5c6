"""The auditor's workspace: search, paging, record history, account activity, CSV export,
verification from the browser; each use of it is itself recorded."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from app.audit.actions import Action, Outcome
from app.audit.models import AuditEvent
from tests.helpers.audit import add, events, fill, put, seqs_on, unlocked


def test_search_filters_and_is_itself_recorded(app, auth, world):
    target = add(app, world, "user.view", object_type="user", object_id=world.users["newbie"])
    add(app, world, "user.view", actor="caseworker2")
    client = auth.login("auditor")
    page = client.get("/audit/events", query_string={
        "actor": "caseworker", "action": "user.view"}).get_data(as_text=True)
    assert seqs_on(page) == [target]
    searches = events(app, action=Action.AUDIT_SEARCH.value)
    assert searches[-1].reason == f"actor={world.users['caseworker']};action=user.view"
    assert str(searches[-1].actor_id) == world.users["auditor"]


def test_search_by_outcome_and_time(app, auth, world, frozen):
    denied = add(app, world, "access.denied", outcome=Outcome.DENIED)
    frozen.advance(hours=2)
    later = add(app, world, "access.denied", outcome=Outcome.DENIED)
    client = auth.login("auditor")
    # Times are typed in the auditor's organisation's zone (Tripoli, UTC+2): 13:00 there is
    # 11:00 UTC, between the two events (10:00 and 12:00 UTC).
    page = client.get("/audit/events", query_string={
        "outcome": "denied", "until": "2026-11-24T13:00"}).get_data(as_text=True)
    assert denied in seqs_on(page) and later not in seqs_on(page)


def test_unknown_account_and_free_words_are_refused_and_not_recorded(app, auth):
    client = auth.login("auditor")
    page = client.get("/audit/events", query_string={"actor": "Zainab Canary"}).get_data(
        as_text=True)
    assert "No account has this id or username" in page and seqs_on(page) == []
    page = client.get("/audit/events", query_string={"object_id": "Zainab"}).get_data(as_text=True)
    assert "Enter a record id" in page and seqs_on(page) == []
    with_reason = [e.reason or "" for e in events(app)]
    assert not any("Zainab" in r for r in with_reason)
    assert events(app, action=Action.AUDIT_SEARCH.value)[-1].reason == "invalid_filter"


def test_keyset_pages_cover_every_event_once(app, auth, world):
    fill(app, 180)  # 60 of them logins
    client = auth.login("auditor")
    seen: list[int] = []
    page = client.get("/audit/events", query_string={"action": "auth.login"}).get_data(
        as_text=True)
    while True:
        rows = seqs_on(page)
        assert len(rows) <= 50 and rows == sorted(rows, reverse=True)
        seen += rows
        older = re.search(r'href="([^"]*before=\d+[^"]*)">Older events', page)
        if not older:
            break
        page = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    expected = [e.seq for e in events(app, action="auth.login")][::-1]
    assert seen == expected and len(seen) > 50
    newer = re.search(r'href="([^"]*after=\d+[^"]*)">Newer events', page)
    back = client.get(newer.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert seqs_on(back) == expected[len(expected) - len(seqs_on(page)) - 50:][:50]


def test_record_history_and_account_activity(app, auth, world):
    about = add(app, world, "user.update", actor="admin", object_type="user",
                object_id=world.users["caseworker2"])
    by = add(app, world, "auth.login", actor="caseworker2", object_type="user",
             object_id=world.users["caseworker2"])
    other = add(app, world, "auth.login", actor="caseworker")
    client = auth.login("auditor")
    history = client.get(f"/audit/objects/user/{world.users['caseworker2']}")
    assert history.status_code == 200
    assert {about, by} <= set(seqs_on(history.get_data(as_text=True)))
    assert other not in seqs_on(history.get_data(as_text=True))
    activity = client.get(f"/audit/users/{world.users['caseworker2']}").get_data(as_text=True)
    assert by in seqs_on(activity) and about not in seqs_on(activity)
    views = events(app, action=Action.AUDIT_VIEW.value)
    assert [(v.object_type, v.object_id, v.reason) for v in views[-2:]] == [
        ("user", world.users["caseworker2"], "record_history"),
        ("user", world.users["caseworker2"], "user_activity")]
    assert client.get("/audit/objects/user/Zainab").status_code == 404
    assert client.get("/audit/objects/nothing/1234").status_code == 404


def _export(client, token, **filters):
    resp = client.post("/audit/export", data={"csrf_token": token, **filters})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_neutralises_formula_cells_and_is_recorded(app, auth, world):
    dangerous = ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd", "safe"]
    for text in dangerous:
        add(app, world, "case.break_glass", reason=text)
    client = auth.login("auditor")
    rows = _export(client, auth.csrf(client, "/audit/events"), action="user.view")
    assert rows[0][0] == "seq" and len(rows) == 1  # filtered: only the header
    rows = _export(client, auth.csrf(client, "/audit/events"))
    header, body = rows[0], rows[1:]
    reasons = [r[header.index("reason")] for r in body]
    for text in dangerous[:-1]:
        assert "'" + text in reasons
    assert "safe" in reasons
    for r in body:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in r)
    assert "mac" not in header and "prev_mac" not in header
    exports = events(app, action=Action.AUDIT_EXPORT.value)
    assert [e.reason for e in exports] == ["action=user.view", "all"]
    assert client.post("/audit/export", data={"csrf_token": auth.csrf(client, "/audit/events"),
                                              "object_id": "Zainab"}).status_code == 400


def test_export_needs_a_csrf_token(app, auth):
    client = auth.login("auditor")
    assert client.post("/audit/export").status_code == 400
    assert events(app, action=Action.AUDIT_EXPORT.value) == []


def test_verify_from_the_browser(app, auth, world):
    fill(app, 10)
    client = auth.login("auditor")
    page = client.get("/audit/verify").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ok = client.post("/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "The audit trail is intact" in ok
    target = events(app, action="user.view")[-1].seq
    with unlocked(app) as conn:
        put(conn, target, {"reason": "covered up"})
    broken = client.post("/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert f"The audit trail is broken at event {target}" in broken
    assert "An event was edited after it was written." in broken
    runs = events(app, action=Action.AUDIT_VERIFY.value)
    assert [(r.outcome, r.reason) for r in runs] == [
        ("allowed", "web:intact"), ("error", f"web:edited@{target}")]


def test_verify_with_an_uploaded_checkpoint(app, auth):
    from app.audit.checkpoint import make
    from app.clock import utcnow

    last = fill(app, 5)
    with unlocked(app) as conn:
        mac, chain = conn.execute(select(AuditEvent.mac, AuditEvent.chain)
                                  .where(AuditEvent.seq == last)).one()
    # of the one chain written to since the trail began in this test (several on PostgreSQL)
    good = make(app.config["KEY_AUDIT_SIGNING"], last, mac, utcnow(),
                heads=[(chain, last, mac)]).encode()
    forged = make(b"\x05" * 32, last, mac, utcnow()).encode()
    client = auth.login("auditor")
    token = auth.csrf(client, "/audit/verify")
    page = client.post("/audit/verify", content_type="multipart/form-data", data={
        "csrf_token": token, "checkpoints": [(io.BytesIO(good), "cp.json")]}).get_data(
            as_text=True)
    assert "It matches 2 signed checkpoints." in page  # and the one signed after the login
    page = client.post("/audit/verify", content_type="multipart/form-data", data={
        "csrf_token": token, "checkpoints": [(io.BytesIO(forged), "cp.json")]}).get_data(
            as_text=True)
    assert "Checkpoint refused" in page and "is intact" not in page
    assert events(app, action=Action.AUDIT_VERIFY.value)[-1].reason == "web:bad_checkpoint"


def test_refused_access_to_the_workspace_is_recorded(app, auth, world):
    client = auth.login("caseworker")
    assert client.get("/audit/events").status_code == 403
    assert client.post("/audit/export", data={"csrf_token": auth.csrf(client)}).status_code == 403
    denied = events(app, action=Action.ACCESS_DENIED.value)
    assert [(d.object_id, d.outcome, str(d.actor_id)) for d in denied[-2:]] == [
        ("audit.events", "denied", world.users["caseworker"]),
        ("audit.export", "denied", world.users["caseworker"])]
    assert events(app, action=Action.AUDIT_SEARCH.value) == []
