"""Home-page benchmark: every role's home page and the notification bell at 50,000 cases.

With N cases (default 50,000) at 4 sites in a fresh database, each with an incident, a goal, a
follow-up, a consent and most with a referral, plus notifications for everyone, it measures:

1. ``GET /`` for each role (caseworker, supervisor, service provider, safe-space coordinator,
   programme manager, auditor, admin), logged in as a person would be;
2. the bell: ``notifications.service.unread_count`` alone (what every page adds), and
   ``GET /notifications/``.

Cases are opened evenly over three years and worked for about four months: younger ones are
open, older ones mostly closed (80 % in their first year, 97 % after). The caseworker measured
holds 1,250 cases (50,000 over 40 workers), about 220 of them still open: a heavy caseload.
The supervisor oversees two of the four sites. The programme manager's indicators read the remembered
protection of the statistics (``app.reports.freshness``): the first view in a process counts
the year, which is measured on its own row; so are the auditor's alert counts, made afresh
every five minutes from a week of 20,000 audit events. Seeding inserts coded rows only: no home page reads a
sealed value, so the records carry none. Only synthetic data is made or printed.

    .venv/bin/python bench/bench_home.py [--cases 50000] [--runs 30] [--pg-cases 50000] [--no-pg]
                                          [--no-sqlite]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402  (bench/pgserver.py, beside this file)
import pyotp  # noqa: E402
from measure import login, ms, timed  # noqa: E402  (bench/measure.py)
from sqlalchemy import insert, select, text  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.audit.actions import Action, ObjectType  # noqa: E402
from app.audit.writer import record  # noqa: E402
from app.auth import mfa, passwords  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.cases import gbvims  # noqa: E402
from app.cases.models import (  # noqa: E402
    ActionItem,
    Case,
    ConsentRecord,
    FollowUp,
    Incident,
    IncidentPerpetrator,
)
from app.crypto.envelope import new_data_key  # noqa: E402
from app.db import db  # noqa: E402
from app.directory.models import Organisation, SafeSpace, Service, Site  # noqa: E402
from app.notifications import service as notices  # noqa: E402
from app.notifications.kinds import Kind, Target  # noqa: E402
from app.notifications.models import Notification  # noqa: E402
from app.referrals.models import Referral  # noqa: E402
from app.reports import freshness, suppression  # noqa: E402

PASSWORD = "bench-Home-2026!"
BATCH = 5_000
AUDIT_EVENTS = 20_000
SITES = 4
WORKERS_PER_SITE = 10
ROLES = ("caseworker", "supervisor", "service_provider", "wgss_coordinator", "program_manager",
         "auditor", "admin")


def seed(n: int, rnd: random.Random) -> dict[str, Any]:
    """The directory, one account per role (and 40 caseworkers), and ``n`` cases with their
    records, inserted in batches."""
    now = clock.utcnow()
    today = now.date()
    org = Organisation(name="Bench NGO")
    db.session.add(org)
    db.session.flush()
    sites = [Site(organisation_id=org.id, name=f"Site {i + 1}", code=f"S{i + 1:02d}")
             for i in range(SITES)]
    db.session.add_all(sites)
    db.session.flush()
    service = Service(organisation_id=org.id, name="Bench clinic", service_type="health_medical")
    space = SafeSpace(organisation_id=org.id, site_id=sites[0].id, name="Bench safe space")
    db.session.add_all([service, space])
    db.session.flush()
    pw = passwords.hash_password(PASSWORD)
    secret = pyotp.random_base32(32)

    def person(username: str, role: str, where: list[Site], **extra: Any) -> User:
        user = User(username=username, display_name=username.replace("-", " ").title(),
                    organisation_id=org.id, role=role, password_hash=pw,
                    password_changed_at=now, sites=where, **extra)
        db.session.add(user)
        db.session.flush()
        mfa.store_secret(user, secret)
        user.mfa_enrolled_at = now
        return user

    workers = {s.id: [person(f"worker-{s.code.lower()}-{i}", "caseworker", [s])
                      for i in range(WORKERS_PER_SITE)] for s in sites}
    measured = {
        "caseworker": workers[sites[0].id][0],
        "supervisor": person("bench-supervisor", "supervisor", sites[:2]),
        "service_provider": person("bench-provider", "service_provider", [],
                                   service_id=service.id),
        "wgss_coordinator": person("bench-coordinator", "wgss_coordinator", sites[:1],
                                   safe_spaces=[space]),
        "program_manager": person("bench-manager", "program_manager", []),
        "auditor": person("bench-auditor", "auditor", []),
        "admin": person("bench-admin", "admin", []),
    }
    # accounts an admin should look at: never enrolled, long unused
    for i in range(30):
        db.session.add(User(username=f"idle-{i}", display_name=f"Idle {i}",
                            organisation_id=org.id, role="caseworker", password_hash=pw,
                            password_changed_at=now - timedelta(days=200), sites=[sites[i % 4]]))
    key = new_data_key("bench")
    db.session.commit()
    ids = {role: u.id for role, u in measured.items()}
    worker_ids = {s.id: [w.id for w in ws] for s, ws in zip(sites, workers.values(), strict=True)}
    cores = [c.value for c in gbvims.CoreType]
    types = [c.value for c in gbvims.ServiceType]
    made = 0
    seq = 0
    own: list[uuid.UUID] = []          # the measured caseworker's cases
    while made < n:
        rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in (
            Case, Incident, IncidentPerpetrator, ConsentRecord, Referral, ActionItem, FollowUp)}
        for _ in range(min(BATCH, n - made)):
            made += 1
            seq += 1
            site = sites[made % SITES]
            age = rnd.randrange(3 * 365)
            opened = today - timedelta(days=age)
            at = datetime(opened.year, opened.month, opened.day, 9, tzinfo=UTC)
            # cases are worked for a few months, then closed: a few old ones stay open
            closed = rnd.random() < (0 if age < 120 else 0.8 if age < 365 else 0.97)
            status = "closed" if closed else rnd.choice(
                ("open", "assessment", "action_plan", "follow_up"))
            case_id, incident_id = uuid.uuid4(), uuid.uuid4()
            worker = rnd.choice(worker_ids[site.id])
            if worker == ids["caseworker"]:
                own.append(case_id)
            rows[Case].append({
                "id": case_id, "case_number": f"{site.code}-{opened.year}-{seq:06d}",
                "organisation_id": org.id, "site_id": site.id, "opened_on": opened,
                "data_key_id": key.id, "status": status, "primary_worker_id": worker,
                "secondary_worker_id": rnd.choice(worker_ids[site.id])
                if rnd.random() < 0.2 else None,
                "risk_level": rnd.choice(("unknown", "low", "medium", "high")),
                "closed_at": at + timedelta(days=30) if status == "closed" else None,
                "plan_approved_at": at + timedelta(days=rnd.randint(1, 30))
                if status in ("action_plan", "follow_up", "closed") else None,
                "sex": rnd.choice(("female",) * 9 + ("male",)),
                "created_at": at, "updated_at": at, "version": 1})
            recent = opened > today - timedelta(days=3)
            happened = opened - timedelta(days=0 if recent else int(rnd.expovariate(1 / 20)))
            rows[Incident].append({
                "id": incident_id, "case_id": case_id, "incident_date": happened,
                "reported_date": opened, "data_key_id": key.id, "recorded_by_id": worker,
                "location_type": rnd.choice([c.value for c in gbvims.LocationType]),
                "core_type": rnd.choice(cores),
                "perpetrator_count": "1", "time_of_day": "unknown",
                "displacement_stage": rnd.choice([c.value for c in gbvims.DisplacementStage]),
                "report_band": gbvims.report_band(happened, opened).value,
                "contexts": "", "urgent_clinical": recent,
                "created_at": at, "updated_at": at, "version": 1})
            rows[IncidentPerpetrator].append({
                "id": uuid.uuid4(), "incident_id": incident_id, "position": 1, "sex": "male",
                "age_group": "unknown", "relationship": "unknown", "occupation": "unknown"})
            rows[ConsentRecord].append({
                "id": uuid.uuid4(), "position": 1, "case_id": case_id, "kind": "reporting",
                "granted": rnd.random() < 0.9, "given_by": "survivor", "method": "verbal",
                "recorded_by_id": worker, "recorded_at": at})
            due = today + timedelta(days=rnd.randint(-40, 40))
            rows[ActionItem].append({
                "id": uuid.uuid4(), "case_id": case_id, "service_type": rnd.choice(types),
                "due_on": due, "status": "done" if closed else rnd.choice(
                    ("planned", "in_progress", "done")),
                "data_key_id": key.id, "created_at": at, "updated_at": at, "version": 1})
            rows[FollowUp].append({
                "id": uuid.uuid4(), "case_id": case_id, "due_on": due,
                # a closed case's follow-ups were done (closure asks for it)
                "done_on": due if (closed or rnd.random() < 0.6) and due <= today else None,
                "recorded_by_id": worker, "data_key_id": key.id, "created_at": at,
                "updated_at": at, "version": 1})
            if rnd.random() < 0.6:
                sent = at + timedelta(hours=2)
                urgency = rnd.choice(("normal",) * 4 + ("urgent",))
                rows[Referral].append({
                    "id": uuid.uuid4(), "case_id": case_id, "service_id": service.id,
                    "service_type": rnd.choice(types), "sent_by_id": worker, "sent_at": sent,
                    "respond_by": sent + timedelta(days=1 if urgency == "urgent" else 3),
                    "urgency": urgency, "data_key_id": key.id,
                    # a closed case's referrals were answered (closure asks for it)
                    "status": rnd.choice(("accepted", "completed", "declined")
                                         + (() if closed else ("sent",))),
                    "created_at": sent, "updated_at": sent, "version": 1})
        for model, batch in rows.items():
            if batch:
                db.session.execute(insert(model.__table__), batch)
        db.session.commit()
    # notifications: 300 for each measured person (40 unread), 50 for every other worker;
    # the measured caseworker's are about her own cases (the list shows them all)
    everyone = [(u, 300, 40) for u in ids.values()] + [
        (w, 50, 5) for ws in worker_ids.values() for w in ws if w != ids["caseworker"]]
    batch = []
    for user_id, total, unread in everyone:
        for i in range(total):
            at = now - timedelta(hours=i)
            batch.append({"id": uuid.uuid4(), "user_id": user_id, "organisation_id": org.id,
                          "kind": Kind.CASE_ASSIGNED.value, "object_type": Target.CASE.value,
                          "object_id": rnd.choice(own), "occasion": None, "created_at": at,
                          "read_at": None if i < unread else at})
    db.session.execute(insert(Notification.__table__), batch)
    db.session.commit()
    # a busy week of the audit trail (what the auditor's alerts read): case views by every
    # worker, written through the real writer so the chain stays whole
    week = [w for ws in worker_ids.values() for w in ws]
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(week)))}
    own_cases = own or [uuid.uuid4()]
    try:
        for i in range(AUDIT_EVENTS):
            clock.freeze(now - timedelta(days=7) + timedelta(seconds=i * 7 * 86400 // AUDIT_EVENTS))
            record(Action.CASE_VIEW, object_type=ObjectType.CASE, object_id=rnd.choice(own_cases),
                   actor=people[rnd.choice(week)])
            if i % 2_000 == 1_999:
                db.session.commit()
        db.session.commit()
    finally:
        clock.freeze(None)
    return {"org": org.id, "ids": ids, "secret": secret,
            "usernames": {role: u.username for role, u in measured.items()}}


def run(uri: str, instance: Path, n: int, runs: int, label: str) -> None:
    app = create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
                      "SQLALCHEMY_DATABASE_URI": uri, "RATELIMIT_STORAGE_URI": "memory://",
                      "SERVER_NAME": None})
    rnd = random.Random(16)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        t0 = time.perf_counter()
        d = seed(n, rnd)
        seeded = time.perf_counter() - t0
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    app.config["STATS_RECOUNT_MINUTES"] = 10   # as in production
    app.config["AUDIT_HOME_ALERT_MINUTES"] = 5
    rows: list[tuple[str, list[float], str]] = []
    sizes: dict[str, int] = {}
    for role in ROLES:
        client = login(app, d["usernames"][role], PASSWORD, d["secret"])

        def home(client: Any = client, role: str = role) -> None:
            resp = client.get("/")
            assert resp.status_code == 200, resp.status_code
            sizes[role] = len(resp.get_data())

        if role == "auditor":
            def first_alerts(home: Any = home) -> None:
                app.extensions.pop("amana_home_alerts", None)
                home()

            rows.append(("home: auditor, alerts counted (every 5 minutes)",
                         timed(first_alerts, max(3, runs // 10)), ""))
        if role == "program_manager":
            def first(home: Any = home) -> None:
                suppression.forget()
                with app.app_context():
                    freshness.forget()
                home()

            rows.append(("home: programme manager, first view (the year counted)",
                         timed(first, max(3, runs // 10)), ""))
        rows.append((f"home: {role.replace('_', ' ')}", timed(home, runs), role))
        if role == "caseworker":
            def bell_page(client: Any = client) -> None:
                resp = client.get("/notifications/")
                assert resp.status_code == 200, resp.status_code

            rows.append(("notification list (first page of 300)", timed(bell_page, runs), ""))
    with app.app_context():
        user_id = d["ids"]["caseworker"]
        rows.append(("bell count alone (unread of 300)",
                     timed(lambda: notices.unread_count(user_id), runs * 10), ""))
        db.session.remove()
        db.engine.dispose()
    print(f"\n{label}: {n:,} cases at {SITES} sites, {SITES * WORKERS_PER_SITE} caseworkers "
          f"(seeded in {seeded:.0f} s); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; times in ms")
    print(f"  {'operation':<56} {'runs':>5} {'median':>9} {'p95':>9} {'page kB':>8}")
    for what, samples, role in rows:
        med, p95 = ms(samples)
        size = f"{sizes[role] / 1024:.0f}" if role in sizes else ""
        print(f"  {what:<56} {len(samples):>5} {med:>9.2f} {p95:>9.2f} {size:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--pg-cases", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        # an instance folder per database: the audit checkpoints kept there belong to one trail
        instance = Path(tmp) / "instance-sqlite"
        if not args.no_sqlite:
            run(f"sqlite:///{tmp}/bench.db", instance, args.cases, args.runs, "SQLite")
        instance = Path(tmp) / "instance-pg"
        base, why = (None, "--no-pg") if args.no_pg else pgserver.reachable()
        if base is None:
            print(f"\nPostgreSQL: skipped ({why}; set TEST_DATABASE_URL to a reachable server)")
            return
        with pgserver.scratch(base) as url:
            run(url, instance, args.pg_cases, args.runs, "PostgreSQL")


if __name__ == "__main__":
    main()
