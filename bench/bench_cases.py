"""Case area benchmark: prints one table per database, asserts only that both sides agree.

With N cases (default 50,000) in a fresh database, what a supervisor does most:

1. the first page of their case list: ``queries.case_page`` and the whole ``GET /cases/``;
2. the case view ``GET /cases/<id>``: every sealed field of the case and its records opened, and
   a ``case.view`` event appended to the audit chain before the page is served;
3. search by name: ``search.search`` (blind index, then decryption to confirm, audited) and the
   whole ``POST /cases/search`` page.

Each is compared, in the same run and on the same database, with the same work done from
plaintext: mirror tables (``plain_*``) hold the same rows with every sealed field in clear, plus
normalised name, alias and phone columns with indexes; bench-only routes behind the same login
guard read them and render the same templates, with no decryption and no audit event.

Seeding bypasses the per-case audit and the ORM unit of work: cases are built as model objects,
so the real sealed fields give each its own data key, ciphertexts and blind-index entries, and
their rows are inserted in batches. Forty recent cases then get consent, incidents, an
assessment, goals, follow-ups and notes through the real services (audited): those are viewed.
Every measured operation goes through the real code, logged in with a real session (password,
then a TOTP code). Only synthetic data is made or printed.

    .venv/bin/python bench/bench_cases.py [--cases 50000] [--runs 40] [--pg-cases 50000] [--no-pg]
        [--no-sqlite]

PostgreSQL is measured too when TEST_DATABASE_URL (or postgresql://postgres@127.0.0.1:5432/test)
is reachable: the benchmark creates its own database there and drops it afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402  (bench/pgserver.py, beside this file)
import pyotp  # noqa: E402
from flask import Blueprint, Flask, abort, g, render_template, request, session  # noqa: E402
from flask_babel import gettext as _  # noqa: E402
from flask_login import current_user  # noqa: E402
from sqlalchemy import (  # noqa: E402
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    event,
    false,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import aliased  # noqa: E402
from sqlalchemy.orm.util import identity_key  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.audit import service as audit  # noqa: E402
from app.audit.actions import Action, ObjectType  # noqa: E402
from app.auth import mfa, passwords  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.auth.policy import Permission, Role, can, require  # noqa: E402
from app.cases import (  # noqa: E402
    closure,
    consent,
    forms,
    gbvims,
    justifications,
    queries,
    records,
    search,
    service,
    views,
)
from app.cases.home_queries import need_choices  # noqa: E402
from app.cases.labels import Domain, choices, label  # noqa: E402
from app.cases.models import (  # noqa: E402
    STATUSES,
    ActionItem,
    Assessment,
    Case,
    CaseNote,
    CaseSequence,
    FollowUp,
    Incident,
    IncidentPerpetrator,
    StatusChange,
)
from app.cases.workflow import CLOSURE_REASONS, REOPEN_REASONS, STATUS_LABELS  # noqa: E402
from app.clock import utcnow  # noqa: E402
from app.core import hooks  # noqa: E402
from app.core.ids import parse_uuid  # noqa: E402
from app.crypto.blind_index import PERSON_NAME, candidate_ids  # noqa: E402
from app.crypto.fields import _REINDEX, SealedDate, SealedInt, seal_now  # noqa: E402
from app.crypto.models import BlindIndexEntry, DataKey  # noqa: E402
from app.crypto.normalise import normalise_phone, normalise_text  # noqa: E402
from app.db import db  # noqa: E402
from app.directory.models import Organisation, Site  # noqa: E402
from app.forms import fall_back  # noqa: E402

PASSWORD = "bench horse battery staple"
SITES = (("Tripoli", "TRI"), ("Benghazi", "BEN"), ("Misrata", "MIS"), ("Sabha", "SAB"))
WORKERS_PER_SITE = 8
TARGETS = 40  # cases given full records through the services; the ones viewed
BATCH = 5000
# Synthetic names (common given and family names, Arabic and Latin script), never real people.
FIRST = (["فاطمة", "عائشة", "مريم", "خديجة", "زينب", "آمنة", "سلمى", "نور", "هدى", "ليلى",
          "أسماء", "رحمة", "سارة", "منى", "هاجر", "إيمان", "رقية", "سعاد", "نجلاء", "وفاء"],
         ["Fatima", "Aisha", "Mariam", "Khadija", "Zainab", "Amina", "Salma", "Noor", "Huda",
          "Layla", "Asma", "Rahma", "Sara", "Mona", "Hajar", "Iman", "Ruqaya", "Suad", "Najla",
          "Wafa"])
FATHER = (["علي", "محمد", "أحمد", "إبراهيم", "حسن", "عمر", "يوسف", "مصطفى", "سالم", "خليل",
           "عبدالله", "صالح", "منصور", "فرج", "ميلاد", "عادل", "جمعة", "رمضان", "بشير", "نوري"],
          ["Ali", "Mohamed", "Ahmed", "Ibrahim", "Hassan", "Omar", "Youssef", "Mustafa", "Salem",
           "Khalil", "Abdullah", "Saleh", "Mansour", "Faraj", "Milad", "Adel", "Juma", "Ramadan",
           "Bashir", "Nouri"])
FAMILY = (["الكيلاني", "الورفلي", "المصراتي", "الزاوي", "الترهوني", "الفيتوري", "البدري",
           "الشريف", "بن سعود", "الفرجاني", "العبيدي", "الدرسي", "الشامي", "الجهاني", "الغرياني",
           "البرعصي", "الحاسي", "التاجوري", "الزنتاني", "العريبي"],
          ["Kilani", "Warfalli", "Misrati", "Zawi", "Tarhouni", "Fitouri", "Badri", "Sharif",
           "Ben Saud", "Ferjani", "Obeidi", "Dersi", "Shami", "Jehani", "Ghariani", "Barasi",
           "Hassi", "Tajouri", "Zintani", "Oraibi"])
FILLER = ("Synthetic benchmark text, no real person: the worker met the survivor at the site, "
          "agreed next steps and a safe way to keep in touch. ")

# --- Plaintext mirror tables --------------------------------------------------------------

PLAIN = MetaData()
MIRRORED = (Case, Incident, Assessment, ActionItem, FollowUp, CaseNote, StatusChange)


def _mirror(model: Any) -> Table:
    """A table with the model's clear columns and its sealed fields in clear (no data key)."""
    name = f"plain_{model.__tablename__}"
    cols = [Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable,
                   unique=bool(c.unique))
            for c in model.__table__.columns
            if c.name != "data_key_id" and not c.name.endswith("_sealed")]
    for field_name, sealed in model.__sealed_fields__.items():
        kind = Date if isinstance(sealed, SealedDate) else Integer if isinstance(sealed, SealedInt) \
            else Text
        cols.append(Column(field_name, kind))
    if model is Case:
        cols += [Column(n, String(200)) for n in ("name_norm", "alias_norm", "phone_norm")]
    table = Table(name, PLAIN, *cols)
    # Every index of the real table (single-column, composite and partial alike), so that
    # both sides are planned alike: a mirror without one plans its own way.
    for idx in model.__table__.indexes:
        if not all(c.name in table.c for c in idx.columns):
            continue  # an index on the data key, which the plain side has not
        Index(f"{idx.name}_plain", *(table.c[c.name] for c in idx.columns),
              unique=idx.unique, **idx.dialect_kwargs)
    if model is Case:
        for n in ("name_norm", "alias_norm", "phone_norm"):
            Index(f"ix_{name}_{n}", table.c[n])
    return table


P = {m.__tablename__: _mirror(m) for m in MIRRORED}


def plain_row(obj: Any) -> dict[str, Any]:
    """The plaintext copy of a record: clear columns as they are, sealed fields opened."""
    row = {c.name: getattr(obj, c.key) for c in obj.__table__.columns
           if c.name != "data_key_id" and not c.name.endswith("_sealed")}
    row.update({n: getattr(obj, n) for n in type(obj).__sealed_fields__})
    if isinstance(obj, Case):
        row.update(name_norm=normalise_text(obj.full_name or "") or None,
                   alias_norm=normalise_text(obj.alias or "") or None,
                   phone_norm=normalise_phone(obj.phone or "") or None)
    return row


# --- The same reads and pages, from plaintext ---------------------------------------------

def plain_scope(user: User, t: Table) -> Any:
    """``app.cases.scopes.case_scope`` over a plain table."""
    if user.role == Role.CASEWORKER:
        return or_(t.c.primary_worker_id == user.id, t.c.secondary_worker_id == user.id)
    if user.role == Role.SUPERVISOR:
        return and_(t.c.organisation_id == user.organisation_id,
                    t.c.site_id.in_([s.id for s in user.sites]))
    return false()


def plain_case_page(user: User, page: int = 1, after: Any = None) -> queries.CasePage:
    """``queries.case_page`` (default sort, no filters) over the plain table: the same count,
    the same keyset paging past ``after`` (the id of the last row of the page before)."""
    t = P["cases"]
    worker = User.__table__.alias("worker")
    stmt = (select(t.c.id, t.c.case_number, t.c.status, t.c.risk_level, Site.name,
                   worker.c.display_name, t.c.opened_on, t.c.updated_at)
            .join(Site, Site.id == t.c.site_id)
            .outerjoin(worker, worker.c.id == t.c.primary_worker_id)
            .where(plain_scope(user, t)))
    total = int(db.session.execute(
        select(func.count()).select_from(stmt.with_only_columns(t.c.id).subquery())).scalar_one())
    keys = ((t.c.opened_on, True), (t.c.case_number, True), (t.c.id, True))
    values = None if after is None else db.session.execute(
        stmt.with_only_columns(*(k for k, _d in keys)).where(t.c.id == after)).first()
    if values is not None:
        stmt = stmt.where(queries._past(keys, values, True))
    rows = db.session.execute(stmt.order_by(*queries._ordered(keys)).limit(queries.PAGE_SIZE + 1)
                              .offset(0 if values is not None else
                                      (page - 1) * queries.PAGE_SIZE)).all()
    found = [queries.CaseRow(*r) for r in rows[:queries.PAGE_SIZE]]
    more_before = values is not None or page > 1
    return queries.CasePage(found, total, found[0].id if found and more_before else None,
                            found[-1].id if found and len(rows) > queries.PAGE_SIZE else None)


def plain_search(user: User, name: str) -> search.SearchResult:
    """``search.search`` by name over indexed clear columns: no decryption, no audit."""
    t, wanted = P["cases"], normalise_text(name)
    result = search.SearchResult()
    if not wanted:
        return result
    rows = db.session.execute(
        select(t.c.id, t.c.case_number, plain_scope(user, t).label("mine"))
        .where(or_(t.c.name_norm == wanted, t.c.alias_norm == wanted))).all()
    for r in rows:
        if r.mine:
            case = SimpleNamespace(id=r.id, case_number=r.case_number)
            result.mine.append(case)  # type: ignore[arg-type]
            result.candidates.append(search.Candidate(case, score=10,  # type: ignore[arg-type]
                                                      reasons=["full_name"]))
        else:
            result.elsewhere = True
    result.mine.sort(key=lambda c: c.case_number)
    return result


def _children(table: str, case_id: uuid.UUID, order: Any) -> list[Any]:
    t = P[table]
    return list(db.session.execute(select(t).where(t.c.case_id == case_id).order_by(order)))


def _with_people(table: str, case_id: uuid.UUID, order: Any, column: str,
                 held: list[User]) -> list[Any]:
    """A case's child rows with the user each names read in the same statement; the users go
    to ``held`` (the session holds them weakly; the page finds them there)."""
    t = P[table]
    out = []
    for r in db.session.execute(select(t, User).outerjoin(User, User.id == t.c[column])
                                .where(t.c.case_id == case_id).order_by(order)):
        out.append(SimpleNamespace(**{c.key: r._mapping[c] for c in t.c}))
        if r.User is not None:
            held.append(r.User)
    return out


def _with_person(row: Any, attr: str, user_id: Any) -> SimpleNamespace:
    return SimpleNamespace(**vars(row), **{attr: db.session.get(User, user_id)})


def plain_case_context(user: User, case_id: uuid.UUID) -> dict[str, Any]:
    """What ``views.case_context`` gives the case page, read from the plain tables."""
    t = P["cases"]
    # The case with its two workers joined, as the real case loader reads them.
    pw, sw = aliased(User), aliased(User)
    found = db.session.execute(
        select(t, pw, sw).outerjoin(pw, pw.id == t.c.primary_worker_id)
        .outerjoin(sw, sw.id == t.c.secondary_worker_id)
        .where(t.c.id == case_id, plain_scope(user, t))).first()
    if found is None:
        abort(404)
    row = SimpleNamespace(**{c.key: found._mapping[c] for c in t.c})
    named: list[User] = [p for p in found[-2:] if p is not None]
    inc, items, visits = P["incidents"], P["action_items"], P["follow_ups"]
    # Perpetrators are clear GBVIMS codes, from their own table: joined to the incidents in
    # one statement, as the real page's incident query joins them.
    rows_: dict[Any, Any] = {}
    who: dict[Any, list[IncidentPerpetrator]] = defaultdict(list)
    for r in db.session.execute(
            select(inc, IncidentPerpetrator)
            .outerjoin(IncidentPerpetrator, IncidentPerpetrator.incident_id == inc.c.id)
            .where(inc.c.case_id == case_id)
            .order_by(inc.c.incident_date, IncidentPerpetrator.position)):
        rows_.setdefault(r.id, r)
        if r.IncidentPerpetrator is not None:
            who[r.id].append(r.IncidentPerpetrator)
    incidents = [SimpleNamespace(**{k: v for k, v in r._mapping.items()
                                    if k != "IncidentPerpetrator"}, perpetrators=who[i])
                 for i, r in rows_.items()]
    # Notes and status changes with their authors joined, as the real page reads them; then
    # whoever is still missing in one statement, as ``views._people`` does.
    note_rows = _with_people("case_notes", case_id, P["case_notes"].c.created_at.desc(),
                             "author_id", named)
    change_rows = _with_people("case_status_changes", case_id,
                               P["case_status_changes"].c.at.desc(), "by_id", named)
    people = {row.primary_worker_id, row.secondary_worker_id}
    people.update(n.author_id for n in note_rows)
    people.update(h.by_id for h in change_rows)
    people.discard(None)
    held = db.session.identity_map
    missing = [i for i in people if identity_key(User, i) not in held]
    kept = named + (list(db.session.execute(select(User).where(User.id.in_(missing))).scalars())
                    if len(missing) > 1 else [])
    notes = [_with_person(n, "author", n.author_id) for n in note_rows]
    history = [_with_person(h, "by", h.by_id) for h in change_rows]
    get = db.session.get
    case = SimpleNamespace(**vars(row), site=get(Site, row.site_id),
                           primary_worker=get(User, row.primary_worker_id),
                           secondary_worker=get(User, row.secondary_worker_id)
                           if row.secondary_worker_id else None)
    a = P["assessments"]
    current = db.session.execute(select(a).where(a.c.case_id == case_id)).first()
    request_ = next((h for h in history if h.to_status == "closure_requested"), None) \
        if case.status == "closure_requested" else None
    # The real page's forms, built by the same code (``views.case_forms``), and what the other
    # features add to it (``hooks.case_page``: referrals, clear metadata read alike).
    page_forms = views.case_forms(case, {})  # type: ignore[arg-type]
    extra: dict[str, Any] = views._contributions(hooks.case_page, case=case, user=user)
    state = consent.consent_state(case)  # type: ignore[arg-type]  (clear table, shared)
    items_ = _children("action_items", case_id, items.c.due_on)
    visits_ = _children("follow_ups", case_id, visits.c.due_on)
    today = views.today(views.user_zone(user))
    writable = case.status != "closed"
    ctx = {**extra,
        "case": case, "access": SimpleNamespace(read_only=False, break_glass=False),
        "people": kept,
        "identity": {f: getattr(row, f) for f in service.IDENTITY_FIELDS},
        "consent": state,
        "incidents": [(i, {f: getattr(i, f) for f in records.SEALED_INCIDENT_FIELDS})
                      for i in incidents],
        "clinical_window_ends": views.clinical_windows(case, incidents),  # type: ignore[arg-type]
        "age_unsure": {i.id for i in incidents
                       if gbvims.child_contexts_unsure(i.core_type, i.survivor_age_at_incident)},
        "assessment": current,
        "assessment_text": {} if current is None else {
            "notes": current.notes, "safety_plan": current.safety_plan},
        "items": [(i, i.goal) for i in items_],
        "overdue_items": {i.id for i in items_ if i.due_on < today
                          and i.status in views.OPEN_ITEM_STATUSES},
        "visits": [(v, v.notes) for v in visits_],
        "notes": [(n, n.body) for n in notes],
        "history": history, "closure_request": request_,
        "closure_detail": request_.reason_detail if request_ else None,
        "label": label, "status_labels": STATUS_LABELS, "closure_reasons": CLOSURE_REASONS,
        "reopen_reasons": REOPEN_REASONS, **page_forms,
        "break_glass_grants": justifications.grants_for(user, case),  # type: ignore[arg-type]
        "today": today, "can_approve": can(user, Permission.CASE_APPROVE),
        "self_requested": request_ is not None and request_.by_id == user.id,
        "writable": writable, "can_act": writable and state.has("services"),
        "closure_requested": case.status == "closure_requested",
        "closed": not writable, "can_reopen": not writable,
    }
    closing = case.status == "closure_requested"
    ctx.update(
        can_request_closure=ctx["can_act"] and case.status not in ("open", "closure_requested"),
        can_decide_closure=closing and ctx["can_approve"] and not ctx["self_requested"],
        can_approve_plan=ctx["can_act"] and ctx["can_approve"] and bool(items_)
        and not case.plan_approved_at)
    # What is still open (clear metadata, from what the page read, as the real page does).
    ctx.update(open_items=closure.open_items(case, items_, visits_, extra)  # type: ignore[arg-type]
               if ctx["can_request_closure"] or closing else [],
               sent_back=closure.sent_back(case, history))  # type: ignore[arg-type]
    return ctx


plain_bp = Blueprint("benchplain", __name__, url_prefix="/bench-plain")


@plain_bp.get("/cases/")
@require(Permission.CASE_READ)
def plain_index() -> str:
    """``GET /cases/`` from the plain table, without the ``case.list`` audit event."""
    f = forms.CaseFilterForm(request.args)
    f.status.choices = [("", _("Any"))] + [(s, STATUS_LABELS[s]) for s in STATUSES]
    f.risk.choices = [("", _("Any"))] + choices(Domain.RISK, ("high", "medium", "low", "unknown"))
    f.site.choices = [("", _("Any"))] + [(str(s.id), s.name) for s in current_user.sites]
    f.need.choices = [("", _("Any"))] + need_choices()
    fall_back(f)
    found = plain_case_page(current_user, page=f.page.page,
                            after=parse_uuid(request.args.get("after")))
    return render_template("cases/list.html", rows=found.rows, total=found.total, filters=f,
                           previous=found.previous, next=found.next,
                           status_labels=STATUS_LABELS)


@plain_bp.get("/cases/<uuid:case_id>")
@require(Permission.CASE_READ)
def plain_view(case_id: uuid.UUID) -> str:
    """``GET /cases/<id>`` from the plain tables: nothing to open, no ``case.view`` event."""
    return render_template("cases/view.html", **plain_case_context(current_user, case_id))


@plain_bp.get("/audited/cases/<uuid:case_id>")
@require(Permission.CASE_READ)
def plain_view_audited(case_id: uuid.UUID) -> str:
    """The plaintext case page with the real page's ``case.view`` event appended (and
    committed) before it is built: the real page less field encryption alone."""
    ctx = plain_case_context(current_user, case_id)
    audit.read(Action.CASE_VIEW, ObjectType.CASE, case_id, reason="cases.view")
    return render_template("cases/view.html", **ctx)


def bare_view(app: Flask, user: User, ctx: dict[str, Any], path: str) -> str:
    """The case page rendered by a bare Flask request from an in-memory context: no session
    lookup, no guard, no database; the user is set as Flask-Login's for the request."""
    with app.test_request_context(path):
        g._login_user = user
        return str(app.make_response(render_template("cases/view.html", **ctx)).get_data(
            as_text=True))


@plain_bp.post("/search")
@require(Permission.CASE_READ)
def plain_search_page() -> str:
    """``POST /cases/search`` over the plain columns, without the audit events."""
    form = forms.SearchForm()
    result = None
    if form.validate_on_submit():
        result = plain_search(current_user, form.name.data or "")
        session["case_searched_at"] = utcnow().timestamp()
    return render_template("cases/search.html", form=form, result=result,
                           handoff=forms.HandOffForm(formdata=None))


# --- Seeding --------------------------------------------------------------------------------

def seed_directory() -> dict[str, Any]:
    """One organisation, four sites, a supervisor of two of them, caseworkers everywhere."""
    org = Organisation(name="Bench NGO")
    db.session.add(org)
    db.session.flush()
    sites = [Site(organisation_id=org.id, name=n, code=c) for n, c in SITES]
    db.session.add_all(sites)
    db.session.flush()
    pw, now = passwords.hash_password(PASSWORD), utcnow()

    def person(username: str, role: str, where: list[Site]) -> User:
        user = User(username=username, display_name=username.replace("-", " ").title(),
                    organisation_id=org.id, role=role, password_hash=pw, password_changed_at=now,
                    sites=where)
        db.session.add(user)
        db.session.flush()
        return user

    supervisor = person("bench-supervisor", "supervisor", sites[:2])
    secret = pyotp.random_base32(32)
    mfa.store_secret(supervisor, secret)
    supervisor.mfa_enrolled_at = now
    workers = {s.id: [person(f"worker-{s.code.lower()}-{i}", "caseworker", [s])
                      for i in range(WORKERS_PER_SITE)] for s in sites}
    db.session.commit()
    return {"org": org.id, "supervisor": supervisor.id, "secret": secret,
            "sites": [(s.id, s.code) for s in sites],
            "workers": {k: [w.id for w in v] for k, v in workers.items()}}


def _person(rnd: random.Random) -> tuple[str, str | None]:
    script = rnd.randrange(2)
    name = f"{rnd.choice(FIRST[script])} {rnd.choice(FATHER[script])} {rnd.choice(FAMILY[script])}"
    alias = rnd.choice(FIRST[script]) if rnd.random() < 0.3 else None
    return name, alias


def seed_cases(n: int, d: dict[str, Any], rnd: random.Random) -> list[uuid.UUID]:
    """``n`` cases through the real models (own data key, sealed fields, blind-index entries),
    inserted in batches with their plaintext mirror rows; returns the ids of the viewed ones."""
    today = utcnow().date()
    span = 3 * 365
    opened = sorted(today - timedelta(days=rnd.randrange(span)) for _ in range(n))
    seq: dict[tuple[str, int], int] = defaultdict(int)
    in_scope = {sid for sid, _ in d["sites"][:2]}
    targets: list[uuid.UUID] = []
    statuses = [s for s in STATUSES if s != "closed"]
    for start in range(0, n, BATCH):
        batch = []
        for day in opened[start:start + BATCH]:
            site_id, code = rnd.choice(d["sites"])
            workers = d["workers"][site_id]
            seq[(code, day.year)] += 1
            target = site_id in in_scope and len(targets) < TARGETS and day > today - timedelta(30)
            age = rnd.randint(18 if target else 12, 70)  # viewed cases: adults (consent rules)
            status = "open" if target else rnd.choice(statuses + ["closed"] * 3)
            at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
            case = Case(organisation_id=d["org"], site_id=site_id, primary_worker_id=workers[0]
                        if target else rnd.choice(workers),
                        secondary_worker_id=rnd.choice(workers) if rnd.random() < 0.2 else None,
                        opened_on=day, status=status, closed_at=at if status == "closed" else None,
                        risk_level=rnd.choice(("unknown", "low", "medium", "high")),
                        case_number=f"{code}-{day.year}-{seq[(code, day.year)]:05d}",
                        sex=rnd.choice(("female",) * 9 + ("male",)), age_group=gbvims.age_group(age),
                        nationality_group=rnd.choice(("national", "foreign")),
                        displacement_status=rnd.choice(gbvims.DISPLACEMENT),
                        disability=rnd.choice(("yes", "no", "unknown")), is_child=age < 18,
                        created_at=at, updated_at=at, version=1)
            case.full_name, case.alias = _person(rnd)
            if rnd.random() < 0.5:
                case.date_of_birth = date(day.year - age, rnd.randint(1, 12), rnd.randint(1, 28))
            else:
                case.estimated_age = age
            case.phone = f"+218 9{rnd.randint(1, 4)} {rnd.randint(100, 999)} {rnd.randint(1000, 9999)}"
            case.location = f"Synthetic area {rnd.randint(1, 400)}, block {rnd.randint(1, 40)}"
            case.safe_contact = "Call after 18:00; say it is the clinic." if rnd.random() < 0.5 else None
            batch.append(case)
            if target:
                targets.append(case.id)
        # The cases stay out of the session (no unit of work for 50,000 objects): their rows,
        # sealed by the model fields, go in with one executemany per table, and so do their
        # data keys (added to the session by the model) and blind-index entries. seal_now
        # binds each case's values to its version and final set of values, as a flush would.
        for case in batch:
            seal_now(case)
        keys = [{c.key: getattr(k, c.key) for c in DataKey.__table__.columns}
                for k in db.session.new if isinstance(k, DataKey)]
        db.session.expunge_all()
        entries = [row for c in batch for rows in c.__dict__.get(_REINDEX, {}).values()
                   for row in rows]
        db.session.execute(insert(DataKey.__table__), keys)
        db.session.execute(insert(Case.__table__),
                           [{c.key: getattr(case, c.key) for c in Case.__table__.columns}
                            for case in batch])
        db.session.execute(insert(BlindIndexEntry.__table__), entries)
        db.session.execute(insert(P["cases"]), [plain_row(c) for c in batch])
        db.session.commit()
    db.session.add_all([CaseSequence(site_id=next(s for s, c in d["sites"] if c == code),
                                     year=year, last_value=value)
                        for (code, year), value in seq.items()])
    db.session.commit()
    return targets


def fill_targets(targets: list[uuid.UUID], rnd: random.Random) -> None:
    """Give the viewed cases real records through the services (each audited), then mirror."""
    today = utcnow().date()
    for i, case_id in enumerate(targets):
        case = db.session.get(Case, case_id)
        worker = db.session.get(User, case.primary_worker_id)
        consent.record_consent(worker, case, kind="services", granted=True, given_by="survivor",
                               method="verbal")
        consent.record_consent(worker, case, kind="reporting", granted=True, given_by="survivor",
                               method="verbal")
        for k in range(1 + i % 2):
            records.save_incident(worker, case, records.IncidentInput(
                incident_date=today - timedelta(days=10 + k), reported_date=today,
                location_type="camp_settlement", answers=gbvims.answered("physical"),
                perpetrator_count="1", age_unknown=True,  # the cases' ages are random
                perpetrators=(records.PerpetratorInput("unknown", "unknown", "armed_actor",
                                                       "unknown"),),
                time_of_day="unknown",
                displacement_stage="during_refuge", narrative=FILLER * 8,
                perpetrator_details=FILLER, location_detail="Synthetic place"))
        records.save_assessment(worker, case, records.AssessmentInput(
            risk_level="high", needs=("mhpss", "legal"), notes=FILLER * 4,
            safety_plan=FILLER * 3), None)
        for k in range(2):
            records.save_action_item(worker, case, records.GoalInput(
                service_type="mhpss", status="planned",
                due_on=today + timedelta(days=7 * (k + 1)), goal=FILLER))
            records.add_follow_up(worker, case, records.FollowUpInput(
                due_on=today + timedelta(days=5 * (k + 1)), notes=FILLER))
        for _k in range(3):
            records.add_note(worker, case, FILLER * 2)
        service.change_status(worker, case, "assessment", case.version)
    db.session.expunge_all()
    db.session.execute(delete(P["cases"]).where(P["cases"].c.id.in_(targets)))
    for model in MIRRORED:
        key = model.id if model is Case else model.case_id
        rows = [plain_row(o) for o in db.session.execute(select(model).where(key.in_(targets)))
                .scalars()]
        db.session.execute(insert(P[model.__tablename__]), rows)
    db.session.commit()


# --- Measuring ------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _csrf(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(app: Flask, username: str, secret: str) -> Any:
    """A test client logged in as a person would: password, then the current TOTP code."""
    client = app.test_client()
    now = datetime.now(UTC)
    clock.freeze(now)
    try:
        page = client.get("/auth/login")
        resp = client.post("/auth/login", data={"username": username, "password": PASSWORD,
                                                "csrf_token": _csrf(page.get_data(as_text=True))})
        assert resp.status_code == 302 and resp.location.endswith("/auth/mfa"), resp.status_code
        page = client.get("/auth/mfa")
        resp = client.post("/auth/mfa", data={"code": pyotp.TOTP(secret).at(now),
                                              "csrf_token": _csrf(page.get_data(as_text=True))})
        assert resp.status_code == 302, resp.status_code
    finally:
        clock.freeze(None)
    return client


def stats(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000)


Timer = Callable[[int], float]  # run number -> seconds taken
# (operation, real times, plain times, SQL statements real and plain, target ratio)
Row = tuple[str, list[float], list[float], int | None, int | None, float | None]


def pair(runs: int, real: Timer, plain: Timer) -> tuple[list[float], list[float]]:
    """Alternate the two sides run by run (after one warm-up each) so drift hits both alike."""
    real(0), plain(0)
    a: list[float] = []
    b: list[float] = []
    for i in range(runs):
        for fn, out in ((real, a), (plain, b)) if i % 2 == 0 else ((plain, b), (real, a)):
            out.append(fn(i))
    return a, b


def call(app: Flask, uid: uuid.UUID, fn: Callable[[User, int], Any], i: int) -> tuple[float, Any]:
    """``fn(user, i)`` as a request would run it: a fresh app context, so an empty session and
    data-key cache; only the call itself is timed (not loading the user)."""
    with app.app_context():
        user = db.session.get(User, uid)
        _ = user.sites
        t0 = time.perf_counter()
        result = fn(user, i)
        return time.perf_counter() - t0, result


def timer(app: Flask, uid: uuid.UUID, fn: Callable[[User, int], Any]) -> Timer:
    """A ``Timer`` for a function call (see ``call``)."""
    return lambda i: call(app, uid, fn, i)[0]


def http(fn: Callable[[int], Any]) -> Timer:
    """A ``Timer`` for one whole request through the test client."""
    def run(i: int) -> float:
        t0 = time.perf_counter()
        fn(i)
        return time.perf_counter() - t0
    return run


def same_page(a: str, b: str) -> bool:
    """Whether two renderings are identical apart from per-request nonces, CSRF tokens and
    one-time submission tokens (and
    the path the language switch returns to)."""
    def norm(s: str) -> str:
        s = re.sub(r'nonce="[^"]*"', "", s).replace('value="/bench-plain/audited/', 'value="/')
        s = s.replace('value="/bench-plain/', 'value="/')
        s = re.sub(r'data-csrf="[^"]*"', "", s)
        s = re.sub(r'name="([a-z_]+-)?submission_token" (type="hidden" )?value="[^"]*"', "", s)
        return re.sub(r'name="([a-z_]+-)?csrf_token" (type="hidden" )?value="[^"]*"', "", s)
    x, y = norm(a), norm(b)
    if x != y:  # where they part, for whoever fixes the mirror
        at = next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q),
                  min(len(x), len(y)))
        print(f"  pages differ at character {at}:\n    {x[at - 80:at + 120]!r}\n"
              f"    {y[at - 80:at + 120]!r}")
    return x == y


def sql_count(app: Flask, fn: Callable[[], Any]) -> int:
    """SQL statements one call of ``fn`` issues (transaction control left out)."""
    seen = [0]

    def note(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen[0]


def measure(app: Flask, d: dict[str, Any], targets: list[uuid.UUID], names: list[str],
            runs: int) -> tuple[list[Row], dict[str, Any]]:
    """Time every operation on both sides; also check that both sides show the same thing.

    On SQLite, the list and search calls are timed again once ``ANALYZE`` has given the query
    planner statistics (the app never runs it, so a real SQLite deployment has none)."""
    uid = d["supervisor"]
    client = login(app, "bench-supervisor", d["secret"])
    notes: dict[str, Any] = {}
    rows: list[Row] = []

    # 1. Case list, first page (neither side decrypts anything).
    def real_page(user: User, _i: int) -> Any:
        return queries.case_page(user)

    def plain_page(user: User, _i: int) -> Any:
        return plain_case_page(user)

    r1, p1 = call(app, uid, real_page, 0)[1], call(app, uid, plain_page, 0)[1]
    assert r1.total == p1.total and [r.case_number for r in r1.rows] == \
        [r.case_number for r in p1.rows]
    notes["scope"] = r1.total
    rows.append(("1. list, first page: queries.case_page",
                 *pair(runs, timer(app, uid, real_page), timer(app, uid, plain_page)),
                 None, None, None))

    def get(path: str) -> str:
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        return str(resp.get_data(as_text=True))

    # Page 20 as the pager reaches it: after the last case of page 19 (keyset paging).
    with app.app_context():
        t = P["cases"]
        deep = db.session.execute(
            select(t.c.id).where(t.c.site_id.in_([s for s, _c in d["sites"][:2]]))
            .order_by(t.c.opened_on.desc(), t.c.case_number.desc(), t.c.id.desc())
            .offset(19 * queries.PAGE_SIZE - 1).limit(1)).scalar_one()
    pages = {1: "", 20: f"?after={deep}"}
    notes["list_same"] = all(same_page(get(f"/cases/{q}"), get(f"/bench-plain/cases/{q}"))
                             for q in pages.values())
    for page, q in pages.items():
        rows.append((f"   list, page {page}: GET /cases/{'?after=<id>' if q else ''}",
                     *pair(runs, http(lambda i, q=q: get(f"/cases/{q}")),
                           http(lambda i, q=q: get(f"/bench-plain/cases/{q}"))),
                     sql_count(app, lambda q=q: get(f"/cases/{q}")),
                     sql_count(app, lambda q=q: get(f"/bench-plain/cases/{q}")), 1.2))

    # 2. Case view: every sealed value opened, one audit event, against clear columns; the
    # plaintext page audited as the real one is (encryption alone); the plaintext page rendered
    # by a bare Flask request from an in-memory context (what the session and guard cost).
    sizes = []
    notes["view_same"] = True
    for t in targets[:5]:
        real, plain, audited = (get(f"/cases/{t}"), get(f"/bench-plain/cases/{t}"),
                                get(f"/bench-plain/audited/cases/{t}"))
        sizes.append((len(real.encode()), len(plain.encode())))
        notes["view_same"] &= same_page(real, plain) and same_page(real, audited)
    notes["view_sizes"] = sizes[0]
    view = lambda i: get(f"/cases/{targets[i % len(targets)]}")  # noqa: E731
    plain_ = lambda i: get(f"/bench-plain/cases/{targets[i % len(targets)]}")  # noqa: E731
    audited_ = lambda i: get(f"/bench-plain/audited/cases/{targets[i % len(targets)]}")  # noqa: E731
    n_view, n_plain, n_audited = (sql_count(app, lambda: view(0)), sql_count(app, lambda: plain_(0)),
                                  sql_count(app, lambda: audited_(0)))
    rows.append(("2. case view: GET /cases/<id>", *pair(runs, http(view), http(plain_)),
                 n_view, n_plain, 1.15))
    rows.append(("   encryption alone: vs audited plaintext", *pair(runs, http(view),
                                                                  http(audited_)),
                 n_view, n_audited, 1.10))
    # What the one durable commit of the read's audit event costs on its own (an fsync of the
    # write-ahead log on PostgreSQL): the part of the case view's ratio no code change removes.
    rows.append(("   audit append alone: audited vs plain", *pair(runs, http(audited_),
                                                              http(plain_)),
                 n_audited, n_plain, None))
    with app.app_context():
        user = db.session.get(User, uid)
        _ = user.sites, user.organisation_id
        db.session.expunge(user)
    contexts = {}
    for t in targets:
        with app.test_request_context(f"/bench-plain/cases/{t}"):
            g._login_user = user
            contexts[t] = plain_case_context(user, t)
    bare = lambda i: bare_view(app, user, contexts[targets[i % len(targets)]],  # noqa: E731
                               f"/bench-plain/cases/{targets[i % len(targets)]}")
    notes["bare_same"] = same_page(plain_(0), bare(0))
    rows.append(("   guarded plaintext vs bare Flask view", *pair(runs, http(plain_), http(bare)),
                 n_plain, sql_count(app, lambda: bare(0)), 2.0))

    # 3. Search by name: blind index + confirmation (audited) against indexed clear columns.
    def real_search(user: User, i: int) -> Any:
        return search.search(user, name=names[i % len(names)])

    def plain_search_(user: User, i: int) -> Any:
        return plain_search(user, names[i % len(names)])

    found, elsewhere = [], 0
    for i in range(len(names)):
        a, b = call(app, uid, real_search, i)[1], call(app, uid, plain_search_, i)[1]
        # The real search also finds cases sharing one part of the name (ranked lower); its
        # whole-name matches are exactly the plain search's.
        whole = sorted(c.case.case_number for c in a.candidates
                       if {"full_name", "alias"} & set(c.reasons))
        assert whole == sorted(c.case_number for c in b.mine)
        assert a.elsewhere >= b.elsewhere
        found.append(len(a.mine))
        elsewhere += a.elsewhere
    notes["found"], notes["elsewhere"] = statistics.mean(found), elsewhere
    rows.append(("3. search by name: search.search",
                 *pair(runs, timer(app, uid, real_search), timer(app, uid, plain_search_)),
                 None, None, None))

    token = _csrf(get("/cases/search"))

    def post(path: str, i: int) -> str:
        resp = client.post(path, data={"name": names[i % len(names)], "csrf_token": token})
        assert resp.status_code == 200, (path, resp.status_code)
        return str(resp.get_data(as_text=True))

    notes["search_same"] = all(same_page(post("/cases/search", i), post("/bench-plain/search", i))
                               for i in range(5))
    rows.append(("   search by name: POST /cases/search",
                 *pair(runs, http(lambda i: post("/cases/search", i)),
                       http(lambda i: post("/bench-plain/search", i))),
                 sql_count(app, lambda: post("/cases/search", 0)),
                 sql_count(app, lambda: post("/bench-plain/search", 0)), None))

    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        # The plans behind the figures, for the search with the most blind-index candidates.
        with app.app_context():
            most = max(range(len(names)), key=lambda i: len(
                candidate_ids(PERSON_NAME, names[i], Case.__tablename__)))
            notes["candidates"] = len(candidate_ids(PERSON_NAME, names[most],
                                                       Case.__tablename__))
        for when in ("before", "after"):
            notes[f"plans_{when}"] = {"list": plans(app, uid, real_page, 0),
                                      "search": plans(app, uid, real_search, most)}
            if when == "before":
                with app.app_context():
                    db.session.execute(text("ANALYZE"))
                    db.session.commit()
        rows.append(("   after ANALYZE: queries.case_page",
                     *pair(runs, timer(app, uid, real_page), timer(app, uid, plain_page)),
                     None, None, None))
        rows.append(("   after ANALYZE: search.search",
                     *pair(runs, timer(app, uid, real_search), timer(app, uid, plain_search_)),
                     None, None, None))
    return rows, notes


def plans(app: Flask, uid: uuid.UUID, fn: Callable[[User, int], Any], i: int) -> list[str]:
    """How SQLite reads ``cases`` in each SELECT that ``fn(user, i)`` runs (EXPLAIN QUERY PLAN
    of the statements captured with their parameters)."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and re.search(r"\bFROM cases\b", statement):
            seen.append((statement, params))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        call(app, uid, fn, i)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    out = []
    with engine.connect() as conn:
        for statement, params in seen:
            steps = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)]
            out.append("; ".join(s for s in steps if " cases " in f"{s} " or "TEMP B-TREE" in s))
    return out


def sealed_values_on_view(app: Flask, case_id: uuid.UUID) -> int:
    """How many sealed values the case page opens for one viewed case (non-empty ones)."""
    with app.app_context():
        total = 0
        for model in MIRRORED:
            key = model.id if model is Case else model.case_id
            for obj in db.session.execute(select(model).where(key == case_id)).scalars():
                total += sum(1 for f in type(obj).__sealed_fields__
                             if getattr(obj, f"{f}_sealed") is not None)
        return total


def run(uri: str, instance: Path, n: int, runs: int, label_: str) -> bool:
    """Seed a fresh database at ``uri``, measure, print the table; whether the pages matched."""
    app = create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
                      "SQLALCHEMY_DATABASE_URI": uri, "RATELIMIT_STORAGE_URI": "memory://",
                      # The benchmark searches far more often than a person may.
                      "CASE_SEARCH_LIMIT": "1000000 per minute",
                      "SERVER_NAME": None})
    app.register_blueprint(plain_bp)
    rnd = random.Random(50_000)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        PLAIN.create_all(db.engine)
        d = seed_directory()
        t0 = time.perf_counter()
        targets = seed_cases(n, d, rnd)
        seeded = time.perf_counter() - t0
        t0 = time.perf_counter()
        fill_targets(targets, rnd)
        filled = time.perf_counter() - t0
        t = P["cases"]
        names = [r[0] for r in db.session.execute(
            select(t.c.full_name).order_by(t.c.id).limit(60).offset(n // 3))]
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # As autovacuum does soon after such a load (PostgreSQL 13 and later vacuum after
            # many inserts, not only after updates): statistics, and the visibility map that
            # lets the list read its covering index without visiting the wide rows.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
    sealed = sealed_values_on_view(app, targets[0])
    rows, notes = measure(app, d, targets, names, runs)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    print(f"\n{label_}: {n:,} cases (seeded in {seeded:.0f} s without per-case audit; "
          f"{len(targets)} viewed cases filled through the services in {filled:.0f} s)")
    print(f"  supervisor's scope: {notes['scope']:,} cases at 2 of 4 sites; {runs} runs per side, "
          f"alternating; times in ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  {'':<42} {'-- encrypted/real --':>26} {'-- plaintext/other --':>26} "
          f"{'ratio':>8} {'target':>7}")
    print(f"  {'operation':<42} {'median':>8} {'p95':>8} {'SQL':>8} {'median':>8} {'p95':>8} "
          f"{'SQL':>8} {'median':>8} {'':>7}")
    for name, real, plain, n_real, n_plain, target in rows:
        rm, rp = stats(real)
        pm, pp = stats(plain)
        met = "" if target is None else f"{target:.2f}x " + ("met" if rm / pm <= target
                                                            else "MISSED")
        print(f"  {name:<42} {rm:>8.2f} {rp:>8.2f} {'' if n_real is None else n_real:>8} "
              f"{pm:>8.2f} {pp:>8.2f} {'' if n_plain is None else n_plain:>8} "
              f"{rm / pm:>7.2f}x {met}")
    print(f"  case view page: {notes['view_sizes'][0]:,} bytes encrypted, "
          f"{notes['view_sizes'][1]:,} bytes plaintext")
    print(f"  case view opens {sealed} sealed values (identity, incidents, assessment, goals, "
          "follow-ups, notes) and appends one audit event; the list decrypts nothing")
    print(f"  search: {len(names)} synthetic names from the seeded cases, {notes['found']:.1f} own "
          f"matches on average, {notes['elsewhere']} with a match outside the scope; "
          "each real search appends 1-2 audit events")
    if label_ == "SQLite":
        print("  main rows: no planner statistics (Amana never runs ANALYZE on SQLite); the "
              "'after ANALYZE' rows repeat two calls once the planner has them")
        print(f"  SQLite plans for the cases table (search with {notes['candidates']} "
              "blind-index candidates):")
        for when in ("before", "after"):
            for what, steps in notes[f"plans_{when}"].items():
                n = 0
                for step, same in itertools.groupby(steps):
                    k = len(list(same))
                    which = f"query {n + 1}" if k == 1 else f"queries {n + 1}-{n + k}"
                    print(f"    {when} ANALYZE, {what} {which}: {step}")
                    n += k
    else:
        print("  VACUUM ANALYZE was run after seeding, as autovacuum would do soon after such a "
              "load")
    checks = ("list_same", "view_same", "bare_same")
    differ = [k for k in checks if not notes[k]]
    print("  list, case view (plain, audited plain, bare) pages identical apart from nonces, CSRF "
          "and one-time tokens: " + ("yes" if not differ else "NO (" + ", ".join(differ) + ")"))
    # The plaintext search matches whole names only; the real one also lists cases sharing a
    # name part, so its page has more lines: compared, not required (no target rides on it).
    print("  search pages identical: " + ("yes" if notes["search_same"] else
                                         "no (the real search also lists name-part matches)"))
    return not differ


def main() -> None:
    """Run on SQLite, then on PostgreSQL when it can be reached."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--pg-cases", type=int, default=50_000)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the migrations log every step
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        # an instance folder per database: the audit checkpoints kept there belong to one trail
        # (shared, the PostgreSQL run found the SQLite run's checkpoints and refused to sign)
        ok = args.no_sqlite or run(f"sqlite:///{tmp}/bench.db", Path(tmp) / "instance-sqlite",
                                   args.cases, args.runs, "SQLite")
        base, why = (None, "--no-pg") if args.no_pg else pgserver.reachable()
        if base is None:
            print(f"\nPostgreSQL: skipped ({why}; set TEST_DATABASE_URL to a reachable server)")
        else:
            with pgserver.scratch(base) as url:
                ok = run(url, Path(tmp) / "instance-pg", args.pg_cases, args.runs,
                         "PostgreSQL") and ok
    print(f"\nTotal {time.perf_counter() - started:.0f} s")
    if not ok:  # a comparison of different pages measures nothing: fail the benchmark
        sys.exit("pages differ between the sides compared: the figures above do not count")


if __name__ == "__main__":
    main()
