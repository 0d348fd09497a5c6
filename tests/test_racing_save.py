"""A save that loses the race to someone else's is refused like a stale form, never with the
500 page: the "changed by someone else" message, the input kept, nothing changed.

The race is the one a version check cannot close: the other save commits after this request
checked the form's version (or loaded the record) and before its UPDATE. It is reproduced by
moving the row's version on in the database just before this request's flush writes it, so the
UPDATE ... WHERE version = <read> matches no row (SQLAlchemy's ``StaleDataError``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, event, func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.cases.models import Case, CaseNote, Incident
from app.db import db
from tests.helpers.forms import hidden_inputs
from tests.helpers.incidents import incident_form, perpetrator_fields

STALE = "Someone else saved this case while you were editing"


@contextmanager
def someone_saves_first(table: Table, row_id: str) -> Iterator[list[int]]:
    """While open, the first flush that writes row ``row_id`` of ``table`` finds that another
    save moved its version on (in the same transaction, so a rollback undoes it too)."""
    fired: list[int] = []
    rid = uuid.UUID(row_id)

    def _bump(session: Session, _ctx: Any, _instances: Any) -> None:
        if fired:
            return
        for obj in list(session.dirty) + list(session.deleted):
            if getattr(obj, "__table__", None) is table and obj.id == rid:
                session.connection().execute(
                    table.update().where(table.c.id == rid).values(version=table.c.version + 1))
                fired.append(1)
                return

    event.listen(Session, "before_flush", _bump)
    try:
        yield fired
    finally:
        event.remove(Session, "before_flush", _bump)


def _row(app, model: Any, row_id: str) -> Any:
    with app.app_context():
        obj = db.session.get(model, uuid.UUID(row_id))
        db.session.expunge(obj)
        return obj


def _count(app, action: str) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action)).scalar_one()


def _identity_form(page: str, world, **values: str) -> dict[str, str]:
    base = {"full_name": "Edited Namezq", "alias": "", "date_of_birth": "", "estimated_age": "30",
            "sex": "female", "nationality_group": "national", "displacement_status": "idp",
            "disability": "no", "phone": "", "location": "", "safe_contact": "",
            "site": world.ids["tripoli"]}
    return {**hidden_inputs(page), **base, **values}


def test_a_racing_case_edit_shows_the_conflict_with_the_input_kept(app, auth, world):
    cid = world.ids["case_own"]
    before = _row(app, Case, cid)
    c = auth.login("caseworker")
    page = c.get(f"/cases/{cid}/edit").get_data(as_text=True)
    updates = _count(app, "case.update")
    with someone_saves_first(Case.__table__, cid) as fired:
        r = c.post(f"/cases/{cid}/edit",
                   data=_identity_form(page, world, location="Typed while racing"))
    html = r.get_data(as_text=True)
    assert fired and r.status_code == 200
    assert STALE in html and "Typed while racing" in html
    after = _row(app, Case, cid)
    assert (after.version, after.updated_at) == (before.version, before.updated_at)
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).location != "Typed while racing"
    assert _count(app, "case.update") == updates
    # Having seen the message, the person saves again on purpose: the kept form goes through.
    again = c.post(f"/cases/{cid}/edit",
                   data=_identity_form(html, world, location="Typed while racing"))
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).location == "Typed while racing"


def test_a_racing_incident_edit_changes_nothing(app, auth, world):
    cid = world.ids["case_own"]
    with app.app_context():
        iid = str(db.session.execute(select(Incident.id).where(
            Incident.case_id == uuid.UUID(cid))).scalars().first())
    before = _row(app, Incident, iid)
    c = auth.login("caseworker")
    page = c.get(f"/cases/{cid}/incidents/{iid}").get_data(as_text=True)
    data = {**hidden_inputs(page), **incident_form(
        "physical", incident_date="2026-11-01", narrative="Narrative typed while racing",
        **perpetrator_fields(0, relationship="armed_actor"))}
    with someone_saves_first(Incident.__table__, iid) as fired:
        r = c.post(f"/cases/{cid}/incidents/{iid}", data=data)
    html = r.get_data(as_text=True)
    assert fired and r.status_code == 200
    assert STALE in html and "Narrative typed while racing" in html
    after = _row(app, Incident, iid)
    assert (after.version, after.updated_at) == (before.version, before.updated_at)


def test_a_note_written_while_a_colleague_saves_the_case_is_kept(app, auth, world):
    """A note does not change the case itself, so a colleague saving the case's identity
    between the page load and the note's POST must not cost the caseworker the typed note: the
    note moves the case's "last change" outside the case's version."""
    cid = world.ids["case_own"]
    c = auth.login("caseworker")
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    notes = _count(app, "note.create")
    before = _row(app, Case, cid)
    bumped: list[int] = []

    def _colleague_saves(session: Session, _ctx: Any, _instances: Any) -> None:
        # The colleague's save lands after this request loaded the case, before it writes.
        if not bumped and any(isinstance(o, CaseNote) for o in session.new):
            table = Case.__table__
            session.connection().execute(table.update().where(table.c.id == uuid.UUID(cid))
                                         .values(version=table.c.version + 1))
            bumped.append(1)

    event.listen(Session, "before_flush", _colleague_saves)
    try:
        r = c.post(f"/cases/{cid}/notes", data={**hidden_inputs(page, f"/cases/{cid}/notes"),
                                                "body": "Note kept"}, follow_redirects=True)
    finally:
        event.remove(Session, "before_flush", _colleague_saves)
    assert bumped
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and STALE not in html and "Note kept" in html
    assert _count(app, "note.create") == notes + 1
    after = _row(app, Case, cid)
    assert after.version == before.version + 1  # the colleague's save only: the note did not
    #                                             rewrite the case
    assert after.updated_at >= before.updated_at


def test_a_racing_account_edit_is_refused_not_a_500(app, auth, world):
    """Accounts are versioned too, and a sign-in moves an account's row: an admin's save can
    lose that race."""
    from app.auth.models import User

    uid = world.users["caseworker2"]
    before = _row(app, User, uid)
    admin = auth.login("admin")
    page = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    data = {**hidden_inputs(page), "username": before.username, "display_name": "Renamed racing",
            "role": "caseworker", "organisation": str(before.organisation_id),
            "sites": [world.ids["tripoli"]], "language": "en", "service": ""}
    with someone_saves_first(User.__table__, uid) as fired:
        r = admin.post(f"/admin/users/{uid}", data=data)
    assert fired and r.status_code == 200
    assert "Someone else changed this record meanwhile" in r.get_data(as_text=True)
    assert _row(app, User, uid).display_name == before.display_name


def test_any_other_racing_save_gets_a_plain_conflict_page_not_a_500(app, auth, world):
    """A save no area turned into its own message (here: deactivating an account) still says
    what happened, with nothing saved."""
    from app.auth.models import User

    uid = world.users["caseworker2"]
    admin = auth.login("admin")
    page = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    with someone_saves_first(User.__table__, uid) as fired:
        r = admin.post(f"/admin/users/{uid}/deactivate",
                       data=hidden_inputs(page, f"/admin/users/{uid}/deactivate"))
    assert fired and r.status_code == 409
    assert "Someone else saved this record at the same moment" in r.get_data(as_text=True)
    assert _row(app, User, uid).active
