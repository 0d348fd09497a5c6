"""Query-count ceilings: the common pages issue a fixed number of SQL statements, whatever a
case holds (no N+1).

Statements are counted with a SQLAlchemy ``before_cursor_execute`` listener around one request
(transaction control, BEGIN/COMMIT, left out: SQLite issues its own BEGIN, PostgreSQL's driver
does not). A case with one note, follow-up, goal, incident and status change, and a case with
twenty of each, must cost the same number of statements to show; each page stays under its
ceiling (the figure measured when the ceiling was set, plus a little room; lower it when a cut
lands, raise it only with a reason).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event

from app.auth.models import User
from app.cases import consent, gbvims, records
from app.cases.models import Case
from app.db import db
from tests.helpers.field import make_intake
from tests.helpers.forms import form_tokens
from tests.helpers.safe_space import insert_session

# Statements per page, as measured on both engines when the ceilings were set.
CEILINGS = {"case view": 13, "case list": 4, "search": 5, "add note": 13, "safe-space log": 6,
            "case history": 5, "case print": 13, "field team": 6}
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run inside the block (transaction control left out)."""
    seen: list[str] = []

    def note(_conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip().upper().startswith(CONTROL):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def statements(app: Flask, request: Callable[[], Any], status: int = 200) -> int:
    with counted(app) as seen:
        resp = request()
    assert resp.status_code == status, resp.status_code
    return len(seen)


def filled_case(app: Flask, world: Any, n: int) -> str:
    """A case of the caseworker's at Tripoli with ``n`` notes (by a colleague), follow-ups,
    goals and incidents, and ``n`` (or ``n + 1``) status changes."""
    with app.app_context():
        worker = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        colleague = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        from app.cases import service

        case = service.open_case(worker, case.site, service.IdentityInput(
            full_name=f"Query Count {n}", sex="female", nationality_group="national",
            displacement_status="idp", disability="no", estimated_age=30))
        consent.record_consent(worker, case, kind="services", granted=True,
                               given_by="survivor", method="verbal")
        today = date(2026, 11, 20)
        for k in range(n):
            records.save_incident(worker, case, records.IncidentInput(
                incident_date=today - timedelta(days=30 + k), reported_date=today,
                location_type="camp_settlement", answers=gbvims.answered("physical"),
                perpetrator_count="1", survivor_age_at_incident=30,
                perpetrators=(records.PerpetratorInput("unknown", "unknown", "armed_actor",
                                                       "unknown"),),
                time_of_day="unknown", displacement_stage="during_refuge",
                narrative=f"Synthetic narrative {k}"))
            records.save_action_item(worker, case, records.GoalInput(
                service_type="mhpss", status="planned", due_on=today + timedelta(days=k + 1),
                goal=f"Synthetic goal {k}"))
            records.add_follow_up(worker, case, records.FollowUpInput(
                due_on=today + timedelta(days=k + 1), notes=f"Synthetic visit {k}"))
            records.add_note(colleague, case, f"Synthetic note {k}")
        # Status changes back and forth, an odd number so that both cases end in assessment
        # (the page shows other sections for other statuses).
        for k in range(n if n % 2 else n + 1):
            service.change_status(worker, case, "assessment" if k % 2 == 0 else "open",
                                  case.version)
        return str(case.id)


def test_case_view_costs_the_same_with_one_or_twenty_of_each(app, world, auth):
    few, many = filled_case(app, world, 1), filled_case(app, world, 20)
    c = auth.login("caseworker")
    c.get(f"/cases/{few}"), c.get(f"/cases/{many}")  # warm: first-request work not counted
    a = statements(app, lambda: c.get(f"/cases/{few}"))
    b = statements(app, lambda: c.get(f"/cases/{many}"))
    assert a == b, f"the case view grows with its records: {a} statements for 1, {b} for 20"
    assert a <= CEILINGS["case view"], a


def test_case_view_reads_the_people_it_names_at_once(app, world, auth):
    """Notes by four people and status changes by two cost what notes by one cost: the
    authors are read in one statement, not one each as the template reaches them."""
    one, four = filled_case(app, world, 4), filled_case(app, world, 4)
    with app.app_context():
        from app.cases.models import CaseNote, StatusChange

        people = [uuid.UUID(world.users[n]) for n in ("supervisor", "caseworker2", "newbie",
                                                      "caseworker")]
        notes = db.session.query(CaseNote).filter_by(case_id=uuid.UUID(four)).all()
        for note, who in zip(notes, people, strict=True):
            note.author_id = who  # authorship only: the sealed body is bound to the note's id
        for k, change in enumerate(db.session.query(StatusChange)
                                   .filter_by(case_id=uuid.UUID(four))):
            change.by_id = people[k % 2]
        db.session.commit()
    c = auth.login("caseworker")
    c.get(f"/cases/{one}"), c.get(f"/cases/{four}")  # warm
    a = statements(app, lambda: c.get(f"/cases/{one}"))
    b = statements(app, lambda: c.get(f"/cases/{four}"))
    assert a == b, f"the case view reads each person apart: {a} statements for 1, {b} for 4"
    assert a <= CEILINGS["case view"], a


def test_closure_decision_page_reads_nothing_twice(app, world, auth):
    """A case waiting for closure shows the supervisor what is still open (goals, follow-ups,
    referrals) and the request, from what the page read already: no more statements than their
    page before the request."""
    from app.cases import service

    case_id = filled_case(app, world, 3)
    s = auth.login("supervisor")
    s.get(f"/cases/{case_id}")
    before = statements(app, lambda: s.get(f"/cases/{case_id}"))
    with app.app_context():
        worker = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        case = db.session.get(Case, uuid.UUID(case_id))
        service.request_closure(worker, case, "needs_met", None, case.version)
    page = s.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Goal (" in page and "Follow-up " in page  # the open items are listed
    after = statements(app, lambda: s.get(f"/cases/{case_id}"))
    assert after <= before, f"open items read again: {before} statements before, {after} after"
    assert after <= CEILINGS["case view"], after


def _changed(app: Flask, world: Any, case_id: str, n: int) -> None:
    """``n`` saved changes of the case's identity, by the caseworker and the supervisor in
    turn (each change names its author, shown by name)."""
    from app.cases import service

    with app.app_context():
        for k in range(n):
            who = db.session.get(User, uuid.UUID(world.users["supervisor" if k % 2 else
                                                             "caseworker"]))
            case = db.session.get(Case, uuid.UUID(case_id))
            service.update_identity(who, case, service.IdentityInput(
                full_name=f"Query Count {k}", sex="female", nationality_group="national",
                displacement_status="idp", disability="no", estimated_age=30), case.version)


def test_case_history_and_print_cost_the_same_with_one_or_twenty_changes(app, world, auth):
    few, many = filled_case(app, world, 1), filled_case(app, world, 20)
    _changed(app, world, few, 1)
    _changed(app, world, many, 20)
    c = auth.login("caseworker")
    for page, suffix in (("case history", "history"), ("case print", "print")):
        c.get(f"/cases/{few}/{suffix}"), c.get(f"/cases/{many}/{suffix}")  # warm
        a = statements(app, lambda s=suffix: c.get(f"/cases/{few}/{s}"))
        b = statements(app, lambda s=suffix: c.get(f"/cases/{many}/{s}"))
        assert a == b, f"the {page} grows with the case: {a} statements for 1, {b} for 20"
        assert a <= CEILINGS[page], (page, a)


def test_add_note_costs_the_same_whatever_the_case_holds(app, world, auth):
    few, many = filled_case(app, world, 1), filled_case(app, world, 20)
    c = auth.login("caseworker")

    def add(case_id: str) -> int:
        page = c.get(f"/cases/{case_id}").get_data(as_text=True)
        data = {"body": "Synthetic note", **form_tokens(page, f"/cases/{case_id}/notes")}
        return statements(app, lambda: c.post(f"/cases/{case_id}/notes", data=data), 302)

    add(few)  # warm
    a, b = add(few), add(many)
    assert a == b, f"adding a note grows with the case: {a} statements for 1, {b} for 20"
    assert a <= CEILINGS["add note"], a


def test_case_list_and_search_stay_under_their_ceilings(app, world, auth):
    for n in (1, 20):
        filled_case(app, world, n)
    c = auth.login("supervisor")
    c.get("/cases/")
    assert statements(app, lambda: c.get("/cases/")) <= CEILINGS["case list"]
    token = form_tokens(c.get("/cases/search").get_data(as_text=True))["csrf_token"]
    search = {"name": "Query Count", "phone": "", "case_number": "", "csrf_token": token}
    c.post("/cases/search", data=search)
    found = statements(app, lambda: c.post("/cases/search", data=search))
    assert found <= CEILINGS["search"], found


def test_search_costs_the_same_for_two_or_eight_candidates(app, world, auth):
    """Each candidate has a data key of its own: they are unwrapped together, not one query
    per candidate."""
    with app.app_context():
        worker = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        site = db.session.get(Case, uuid.UUID(world.ids["case_own"])).site
        from app.cases import service

        for family, n in (("Alphacount", 2), ("Betacount", 8)):
            for k in range(n):
                service.open_case(worker, site, service.IdentityInput(
                    full_name=f"{family} Synthetic{k}", sex="female",
                    nationality_group="national", displacement_status="idp", disability="no",
                    estimated_age=30))
    c = auth.login("supervisor")
    token = form_tokens(c.get("/cases/search").get_data(as_text=True))["csrf_token"]
    costs = {}
    for family in ("Alphacount", "Betacount"):
        search = {"name": family, "phone": "", "case_number": "", "csrf_token": token}
        with counted(app) as seen:
            resp = c.post("/cases/search", data=search)
        listed = resp.get_data(as_text=True).split('id="search-candidates"')[1].split("</ol>")[0]
        assert listed.count("<li>") == (2 if family == "Alphacount" else 8)
        costs[family] = len(seen)
    assert costs["Alphacount"] == costs["Betacount"], costs


def test_safe_space_log_costs_the_same_with_one_or_twenty_sessions(app, world, auth):
    c = auth.login("wgss_coordinator")
    path = f"/safe-spaces/{world.ids['safe_space']}/sessions?month=2026-11"
    insert_session(app, world, held_on=date(2026, 11, 2))
    c.get(path)
    a = statements(app, lambda: c.get(path))
    for k in range(19):
        insert_session(app, world, held_on=date(2026, 11, 3 + k % 17))
    b = statements(app, lambda: c.get(path))
    assert a == b, f"the month's log grows with its sessions: {a} for 1, {b} for 20"
    assert a <= CEILINGS["safe-space log"], a


def test_the_field_team_page_costs_the_same_for_one_or_twelve_intakes(app, world, auth):
    """The supervisors' list of their team's field intakes: the page, its count and the
    colleagues offered, whatever the number of intakes and reviewers (no query per row)."""
    make_intake(app, world.users["caseworker"])
    c = auth.login("supervisor")
    c.get("/field/team")
    one = statements(app, lambda: c.get("/field/team"))
    for who in ("caseworker", "caseworker2", "gone") * 4:
        make_intake(app, world.users[who])
    many = statements(app, lambda: c.get("/field/team"))
    assert one == many <= CEILINGS["field team"], (one, many)
