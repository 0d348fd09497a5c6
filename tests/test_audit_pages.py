"""The auditor's pages with real data: events that name a record type but no record, accounts
that no longer exist, unknown record types; finding a case's events by its number; record
histories that show the case number; every record type the app writes is filterable."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.models import AuditEvent
from app.audit.writer import record
from app.auth.models import User
from app.db import db, transaction
from tests.helpers.audit import add, events, seqs_on

APP = Path(__file__).resolve().parent.parent / "app"


def test_events_without_a_record_id_show_on_every_page(app, auth, world):
    """A caseworker opening the case list must not break the auditor's pages (it did: 500)."""
    cw = world.users["caseworker"]
    opened = auth.login("caseworker").get("/cases/")
    assert opened.status_code == 200
    listed = events(app, action=Action.CASE_LIST.value)[-1]
    assert listed.object_type == "case" and listed.object_id is None
    tasks = add(app, world, Action.TASKS_VIEW.value, object_type="case")
    users = add(app, world, Action.USER_LIST.value, actor="admin", object_type="user")
    refused = add(app, world, Action.BREAK_GLASS_OPEN.value, actor="supervisor",
                  object_type="case_number", outcome=Outcome.DENIED,
                  reason="no_such_case_in_organisation")
    timeout = add(app, world, Action.AUTH_SESSION_TIMEOUT.value, object_type="session")
    # An account that is gone (or never existed here), with a role no longer known, and a
    # record type the auditor's enum does not know: still shown, without a broken link.
    ghost = SimpleNamespace(id=uuid.uuid4(), role="retired_role", organisation_id=None)
    with app.app_context(), transaction():
        odd = record(Action.CRYPTO_DECRYPT_FAILED, object_type="cases",  # type: ignore[arg-type]
                     object_id=str(uuid.uuid4()), outcome=Outcome.ERROR, actor=ghost).seq
        ghostly = record(Action.CASE_LIST, object_type="case", actor=ghost).seq
    client = auth.login("auditor")
    pages = {
        "/audit/events": {listed.seq, tasks, users, refused, timeout, odd, ghostly},
        "/audit/events?object_type=case": {listed.seq, tasks, ghostly},
        "/audit/events?object_type=case_number&outcome=denied": {refused},
        f"/audit/events?actor={cw}": {listed.seq, tasks},
        "/audit/events?actor=caseworker&action=case.list": {listed.seq},
        f"/audit/events?actor={ghost.id}": {odd, ghostly},
        "/audit/events?action=break_glass.open": {refused},
        "/audit/events?object_type=session": {timeout},
        "/audit/events?object_type=user&since=2026-01-01T00:00&until=2030-01-01T00:00": {users},
        f"/audit/users/{cw}": {listed.seq, tasks},
        f"/audit/users/{world.users['admin']}": {users},
        f"/audit/users/{world.users['supervisor']}": {refused},
        f"/audit/users/{ghost.id}": {odd, ghostly},
        f"/audit/objects/user/{cw}": set(),
    }
    for path, expected in pages.items():
        resp = client.get(path)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200, path
        assert expected <= set(seqs_on(page)), path
    # The refused break-glass is an alert, listed without a record link.
    alerts = client.get("/audit/alerts")
    assert alerts.status_code == 200
    assert "no_such_case_in_organisation" in alerts.get_data(as_text=True)
    export = client.post("/audit/export", data={"csrf_token": auth.csrf(client, "/audit/events"),
                                                "object_type": "case"})
    assert export.status_code == 200 and str(tasks) in export.get_data(as_text=True)


def test_a_case_number_finds_that_cases_events_and_only_them(app, auth, world):
    own, number = world.ids["case_own"], world.case_numbers["case_own"]
    add(app, world, Action.CASE_VIEW.value, object_type="case", object_id=own)
    add(app, world, Action.CASE_VIEW.value, object_type="case",
        object_id=world.ids["case_other"])
    expected = sorted((e.seq for e in events(app, object_id=own)), reverse=True)
    assert len(expected) >= 3  # opened, consent, viewed ...
    client = auth.login("auditor")
    for typed, kind in ((number, ""), (number.lower(), "case"), (f" {number} ", "")):
        page = client.get("/audit/events", query_string={
            "object_id": typed, "object_type": kind}).get_data(as_text=True)
        assert seqs_on(page) == expected, typed
    # Typing the id still works, and another case's number finds only that case.
    page = client.get("/audit/events", query_string={"object_id": own}).get_data(as_text=True)
    assert seqs_on(page) == expected
    other = client.get("/audit/events", query_string={
        "object_id": world.case_numbers["case_other"]}).get_data(as_text=True)
    assert set(seqs_on(other)) == {e.seq for e in events(app, object_id=world.ids["case_other"])}
    # The search itself is recorded with what was typed (a number, never a name) ...
    assert events(app, action=Action.AUDIT_SEARCH.value)[-1].reason == (
        f"object={world.case_numbers['case_other']}")
    # ... and free words are still refused, not searched for.
    page = client.get("/audit/events", query_string={"object_id": "Zainab"}).get_data(
        as_text=True)
    assert "Enter a record id" in page and seqs_on(page) == []


def test_an_erased_cases_number_still_finds_its_events(app, auth, world):
    from app.cases import service
    from app.cases.models import Case

    case_id, number = world.ids["case_other"], world.case_numbers["case_other"]
    with app.app_context():
        supervisor = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        service.erase(supervisor, db.session.get(Case, uuid.UUID(case_id)), "survivor_request")
    expected = sorted((e.seq for e in events(app, object_id=case_id)), reverse=True)
    assert Action.CASE_ERASE.value in {e.action for e in events(app, object_id=case_id)}
    client = auth.login("auditor")
    page = client.get("/audit/events", query_string={"object_id": number}).get_data(
        as_text=True)
    assert seqs_on(page) == expected
    history = client.get(f"/audit/objects/case/{case_id}").get_data(as_text=True)
    assert number in history and "erased" in history


def test_record_history_shows_the_case_number(app, auth, world):
    from app.cases.models import Incident

    own, number = world.ids["case_own"], world.case_numbers["case_own"]
    client = auth.login("auditor")
    page = client.get(f"/audit/objects/case/{own}").get_data(as_text=True)
    assert f"<code>{number}</code>" in page
    assert set(seqs_on(page)) >= {e.seq for e in events(app, object_id=own)}
    # Records of a case say which case they belong to.
    with app.app_context():
        incident = db.session.execute(
            select(Incident.id).where(Incident.case_id == uuid.UUID(own))).scalar_one()
    for kind, record_id in (("incident", incident), ("referral", world.ids["ref_mhpss"])):
        page = client.get(f"/audit/objects/{kind}/{record_id}").get_data(as_text=True)
        assert f"<code>{number}</code>" in page, kind
    # Other records name no case; another case shows its own number, not this one.
    page = client.get(f"/audit/objects/user/{world.users['caseworker']}").get_data(as_text=True)
    assert number not in page
    page = client.get(f"/audit/objects/case/{world.ids['case_far']}").get_data(as_text=True)
    assert world.case_numbers["case_far"] in page and number not in page
    # A case number in the address shows the case's history too.
    resp = client.get(f"/audit/objects/case/{number}")
    assert resp.status_code == 302 and resp.location.endswith(f"/audit/objects/case/{own}")
    page = client.get(resp.location).get_data(as_text=True)
    assert set(seqs_on(page)) >= {e.seq for e in events(app, object_id=own)}


def test_every_record_type_is_a_filter_choice(app, auth, world):
    session = add(app, world, Action.WGSS_SESSION_VIEW.value, actor="wgss_coordinator",
                  object_type="wgss_session", object_id=str(uuid.uuid4()))
    kind = add(app, world, Action.ACTIVITY_TYPE_LIST.value, actor="wgss_coordinator",
               object_type="activity_type")
    client = auth.login("auditor")
    page = client.get("/audit/events").get_data(as_text=True)
    choices = set(re.findall(r'<option[^>]*value="([a-z_]+)"', page))
    assert {t.value for t in ObjectType} <= choices
    for value, seq in (("wgss_session", session), ("activity_type", kind)):
        page = client.get("/audit/events", query_string={"object_type": value}).get_data(
            as_text=True)
        assert "Not a valid choice" not in page and seqs_on(page) == [seq], value
    assert client.get(f"/audit/objects/wgss_session/{events(app, seq=session)[0].object_id}"
                      ).status_code == 200


# --- Every object type the app writes is in the enum -------------------------------------


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments (e.g. ``CHAIN = "audit_chain"``)."""
    out: dict[str, str] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def _strings(node: ast.AST | None, constants: dict[str, str], *, bare: bool = False) -> set[str]:
    """The string values an argument can take: literals, ``a if c else b``, named constants,
    and ``ObjectType`` members (unless ``bare``: then only what is spelled as a string)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return (_strings(node.body, constants, bare=bare)
                | _strings(node.orelse, constants, bare=bare))
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "ObjectType"):
        member = getattr(ObjectType, node.attr, None)
        return set() if bare else {member.value if member else f"ObjectType.{node.attr}"}
    name = node.id if isinstance(node, ast.Name) else (
        node.attr if isinstance(node, ast.Attribute) else None)
    return {constants[name]} if name in constants else set()


def object_types_in_source(root: Path = APP, *, bare: bool = False) -> dict[str, set[str]]:
    """Every record type the app's code passes as an event's ``object_type`` -> where.

    Found as ``object_type=<value>`` anywhere, and as a value passed by position to any
    function of the app that has a parameter named ``object_type`` (``read(Action.X,
    ObjectType.CASE)``, ``failed("data_key", ...)``). With ``bare``, only the values spelled
    as strings (literals and string constants), not as ``ObjectType`` members.
    """
    trees = {path: ast.parse(path.read_text(), str(path)) for path in root.rglob("*.py")}
    constants: dict[str, str] = {}
    positions: dict[str, int] = {}  # function name -> index of its object_type parameter
    for tree in trees.values():
        constants.update(_constants(tree))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in fn.args.posonlyargs + fn.args.args]
                # ``__init__`` is skipped: a class is called by its own name, and every
                # ``super().__init__(message)`` would otherwise look like one passing a type.
                if "object_type" in names and fn.name != "__init__":  # callers pass no ``self``
                    skip = 1 if names[0] in ("self", "cls") else 0
                    positions[fn.name] = names.index("object_type") - skip
    found: dict[str, set[str]] = {}
    for path, tree in trees.items():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            values = set()
            for kw in call.keywords:
                if kw.arg == "object_type":
                    values |= _strings(kw.value, constants, bare=bare)
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(
                call.func, "id", None)
            if name in positions:
                index = positions[name]
                if 0 <= index < len(call.args):
                    values |= _strings(call.args[index], constants, bare=bare)
            for value in values:
                found.setdefault(value, set()).add(f"{path.relative_to(root)}:{call.lineno}")
    return found


def test_the_scan_finds_literals_of_every_shape(tmp_path):
    (tmp_path / "mod.py").write_text(
        'KIND = "constant_kind"\n'
        'def _audit(action, object_type, object_id=None): ...\n'
        'record(action, object_type="keyword_kind")\n'
        'record(action, object_type="a_kind" if x else None)\n'
        '_audit(Action.X, "positional_kind")\n'
        'service.audited_read(Action.X, object_type=KIND)\n'
        'other(Action.X, "not_a_kind")\n')
    assert set(object_types_in_source(tmp_path)) == {
        "constant_kind", "keyword_kind", "a_kind", "positional_kind"}


def test_the_scan_tells_members_of_the_enum_from_bare_strings(tmp_path):
    (tmp_path / "mod.py").write_text(
        'record(action, object_type=ObjectType.CASE)\n'
        'record(action, object_type=ObjectType.USER if x else "bare_kind")\n'
        'record(action, object_type=ObjectType.NO_SUCH_MEMBER)\n')
    assert set(object_types_in_source(tmp_path)) == {
        "case", "user", "bare_kind", "ObjectType.NO_SUCH_MEMBER"}
    assert set(object_types_in_source(tmp_path, bare=True)) == {"bare_kind"}


def test_the_app_names_object_types_by_the_enum_only(app):
    """An event's record type is an ``ObjectType`` member, never a string spelled at the call
    (a typo there would write a type the auditor cannot filter on)."""
    bare = object_types_in_source(bare=True)
    assert not bare, f"object types spelled as strings, not ObjectType members: {bare}"


def test_every_object_type_the_app_writes_is_in_the_enum(app):
    known = {t.value for t in ObjectType}
    found = object_types_in_source()
    assert {"case", "user", "wgss_session", "activity_type", "audit_chain"} <= set(found)
    missing = {kind: sorted(where) for kind, where in found.items() if kind not in known}
    assert not missing, f"object types missing from ObjectType: {missing}"
    with app.app_context():
        written = set(db.session.execute(
            select(AuditEvent.object_type).distinct().where(AuditEvent.object_type.is_not(None))
        ).scalars())
    assert written and written <= known, written - known


def test_decrypt_failures_name_record_types_of_the_enum(app):
    """A failed decryption names the sealed record's table (``failed(table, ...)`` in
    app/crypto/sealed.py); the event must carry a record type the auditor can filter on and
    open the history of, so every sealed table maps to one, and the event uses it."""
    import uuid

    from app.audit.actions import TABLE_TYPES
    from app.crypto.failures import failed, flush_failures
    from app.crypto.fields import SEALED_MODELS

    tables = {m.__tablename__ for m in SEALED_MODELS if m.__module__.startswith("app.")}
    assert "cases" in tables
    assert tables <= set(TABLE_TYPES), f"sealed tables without a record type: {tables - set(TABLE_TYPES)}"
    with app.test_request_context():
        rid = uuid.uuid4()
        failed("incidents", rid, "narrative:auth_failed")
        flush_failures()
        row = db.session.execute(select(AuditEvent.object_type).where(
            AuditEvent.object_id == str(rid))).scalar_one()
    assert row == "incident"
