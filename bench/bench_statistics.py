"""Statistics benchmark: every GBVIMS table for one period and for one year, with suppression.

With N consented incidents (default 50,000) reported over last year at S sites (default 8), in
a fresh database, what a programme manager does:

1. the leaf counts of every table for the year (``app.reports.queries.tables``: GROUP BY on
   coded columns);
2. the suppression of every table together (``suppression.protect``), searched afresh each run,
   and again when the year is unchanged (remembered in the process);
3. the whole statistics page ``GET /statistics/`` for one month and for the whole year, all
   sites: afresh (nothing remembered: counted and protected again) and as it usually runs (the
   year already counted once in this process, ``app.reports.freshness``);
4. the page after a change committed elsewhere (a new stamp written as the write path would):
   a new incident, inside the 10-minute recount window (the remembered count is shown), and a
   consent withdrawal (always counted again);
5. the CSV and XLSX exports of the year.

It also prints how much of the grid the suppression withholds, by level, and the memory one
remembered year holds. Seeding inserts coded
rows only (cases, incidents, perpetrators, consents, referrals): statistics never read a sealed
value, so the cases carry none. Only synthetic data is made or printed.

    .venv/bin/python bench/bench_statistics.py [--incidents 50000] [--sites 8] [--runs 20]
                                               [--pg-incidents 50000] [--no-pg]
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402  (bench/pgserver.py, beside this file)
import pyotp  # noqa: E402
from measure import login, ms, timed  # noqa: E402  (bench/measure.py)
from sqlalchemy import insert, text, update  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.auth import mfa, passwords  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.cases import gbvims  # noqa: E402
from app.cases.models import Case, ConsentRecord, Incident, IncidentPerpetrator  # noqa: E402
from app.crypto.envelope import new_data_key  # noqa: E402
from app.db import db  # noqa: E402
from app.directory.models import Organisation, Service, Site  # noqa: E402
from app.referrals.models import Referral  # noqa: E402
from app.reports import freshness, grid, queries, suppression  # noqa: E402
from app.reports.models import StatisticsStamp  # noqa: E402
from app.reports.settings import min_count  # noqa: E402

PASSWORD = "bench-Statistics-2026!"
BATCH = 5_000


def skewed(rnd: random.Random, codes: list[str], power: float = 1.2) -> str:
    """A code drawn with a long tail: the first is common, the last rare."""
    weights = [1 / (i + 1) ** power for i in range(len(codes))]
    return rnd.choices(codes, weights)[0]


def seed(n: int, n_sites: int, year: int, rnd: random.Random) -> dict[str, Any]:
    org = Organisation(name="Bench NGO")
    db.session.add(org)
    db.session.flush()
    sites = [Site(organisation_id=org.id, name=f"Site {i + 1}", code=f"S{i + 1:02d}")
             for i in range(n_sites)]
    db.session.add_all(sites)
    db.session.flush()
    service = Service(organisation_id=org.id, name="Bench clinic", service_type="health_medical")
    db.session.add(service)
    manager = User(username="bench-manager", display_name="Bench Manager", organisation_id=org.id,
                   role="program_manager", password_hash=passwords.hash_password(PASSWORD),
                   password_changed_at=clock.utcnow())
    db.session.add(manager)
    db.session.flush()
    secret = pyotp.random_base32(32)
    mfa.store_secret(manager, secret)
    manager.mfa_enrolled_at = clock.utcnow()
    key = new_data_key("bench")
    db.session.flush()
    db.session.commit()
    cores = [c.value for c in gbvims.CoreType]
    types = [c.value for c in gbvims.ServiceType]
    answers = random.Random(n)   # answer times: their own draws, so the rest stays as it was
    site_weights = [1 / (i + 1) for i in range(n_sites)]
    made = 0
    while made < n:
        cases, incidents, perps, consents, refs = [], [], [], [], []
        for _ in range(min(BATCH, n - made)):
            made += 1
            site = rnd.choices(sites, site_weights)[0]
            reported = date(year, 1, 1) + timedelta(days=rnd.randrange(365))
            happened = reported - timedelta(days=int(rnd.expovariate(1 / 20)))
            case_id, incident_id = uuid.uuid4(), uuid.uuid4()
            at = datetime(reported.year, reported.month, reported.day, 9, tzinfo=UTC)
            cases.append({"id": case_id, "case_number": f"{site.code}-{year}-{made:06d}",
                          "organisation_id": org.id, "site_id": site.id, "opened_on": reported,
                          "data_key_id": key.id, "status": "open",
                          "sex": rnd.choice(("female",) * 9 + ("male",)),
                          "displacement_status": skewed(rnd, list(gbvims.DISPLACEMENT)),
                          "created_at": at, "updated_at": at, "version": 1})
            days = (reported - happened).days
            incidents.append({
                "id": incident_id, "case_id": case_id, "incident_date": happened,
                "reported_date": reported, "data_key_id": key.id, "recorded_by_id": manager.id,
                "location_type": skewed(rnd, [c.value for c in gbvims.LocationType]),
                "core_type": skewed(rnd, cores, 0.8),
                "perpetrator_count": skewed(rnd, [c.value for c in gbvims.PerpetratorCount]),
                "time_of_day": skewed(rnd, [c.value for c in gbvims.TimeOfDay]),
                "displacement_stage": skewed(rnd, [c.value for c in gbvims.DisplacementStage]),
                "report_band": gbvims.report_band(happened, reported).value,
                "survivor_age_at_incident": rnd.randint(8, 70) if rnd.random() < 0.9 else None,
                "contexts": "intimate_partner_violence" if rnd.random() < 0.3 else "",
                "urgent_clinical": days <= 3,
                "created_at": at, "updated_at": at, "version": 1})
            perps.append({"id": uuid.uuid4(), "incident_id": incident_id, "position": 1,
                          "sex": skewed(rnd, ["male", "female", "unknown"], 2),
                          "age_group": skewed(rnd, [c.value for c in gbvims.AgeGroup]),
                          "relationship": skewed(rnd, [c.value for c in gbvims.Relationship]),
                          "occupation": skewed(rnd, [c.value for c in gbvims.Occupation])})
            consents.append({"id": uuid.uuid4(), "position": 1, "case_id": case_id,
                             "kind": "reporting", "granted": rnd.random() < 0.9,
                             "given_by": "survivor", "method": "verbal",
                             "recorded_by_id": manager.id, "recorded_at": at})
            if rnd.random() < 0.6:
                kind = skewed(rnd, types)   # drawn in the order they always were
                status = rnd.choice(("accepted", "completed", "declined", "sent"))
                refs.append({"id": uuid.uuid4(), "case_id": case_id, "service_id": service.id,
                             "service_type": kind, "sent_by_id": manager.id,
                             "sent_at": at, "respond_by": at + timedelta(days=3),
                             "data_key_id": key.id, "status": status,
                             "responded_at": None if status == "sent" else
                             at + timedelta(hours=answers.randint(1, 100)),
                             "created_at": at, "updated_at": at, "version": 1})
        for model, rows in ((Case, cases), (Incident, incidents), (IncidentPerpetrator, perps),
                            (ConsentRecord, consents), (Referral, refs)):
            db.session.execute(insert(model.__table__), rows)
        db.session.commit()
    return {"org": org.id, "manager": manager.id, "secret": secret}


def run(uri: str, instance: Path, n: int, n_sites: int, runs: int, label: str) -> None:
    app = create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
                      "SQLALCHEMY_DATABASE_URI": uri, "RATELIMIT_STORAGE_URI": "memory://",
                      "SERVER_NAME": None})
    year = date.today().year - 1
    rnd = random.Random(15)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        t0 = time.perf_counter()
        d = seed(n, n_sites, year, rnd)
        seeded = time.perf_counter() - t0
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    client = login(app, "bench-manager", PASSWORD, d["secret"])
    rows: list[tuple[str, list[float]]] = []
    with app.app_context():
        org = d["org"]
        period = grid.months(year)
        sites = grid.places(queries.site_ids(org))
        counts = timed(lambda: queries.tables(org, year), runs)
        rows.append(("leaf counts of every table, the year", counts))
        tables = queries.tables(org, year)
        k = min_count()
        slow = max(3, runs // 4)
        rows.append(("suppression of every table, afresh",
                     timed(lambda: suppression.protect(period, sites, tables, k), slow,
                           before=suppression.forget)))
        rows.append(("suppression, the year unchanged (remembered)",
                     timed(lambda: suppression.protect(period, sites, tables, k), runs)))
        suppression.forget()
        tracemalloc.start()
        suppression.protect(period, sites, tables, k)
        held_mb = tracemalloc.get_traced_memory()[0] / 2 ** 20
        tracemalloc.stop()
        p = suppression.protect(period, sites, tables, k, certificates=True)
        assert freshness.stamps(org)[0] is not None   # written when the sites were made
    app.config["STATS_RECOUNT_MINUTES"] = 10   # as in production

    def forget() -> None:
        suppression.forget()
        with app.app_context():
            freshness.forget()

    def changed_elsewhere(which: str) -> None:
        """A change committed elsewhere: a new incident (``changed``) or a withdrawal
        (``removed``, which changes the counts too: the search's own memory of them goes)."""
        with app.app_context():
            db.session.execute(update(StatisticsStamp).values({which: uuid.uuid4()}))
            db.session.commit()
        if which == "removed":
            suppression.forget()

    month = f"{year}-03"

    def get(path: str) -> Any:
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        return resp

    for what, path, fresh in (
            ("page: one month, all sites, afresh", f"/statistics/?period={month}&site=all", True),
            ("page: the year, all sites, afresh", f"/statistics/?period={year}&site=all", True),
            ("page: one month, all sites", f"/statistics/?period={month}&site=all", False),
            ("page: the year, all sites", f"/statistics/?period={year}&site=all", False),
            ("page: one month, after a new incident", f"/statistics/?period={month}&site=all",
             "changed"),
            ("page: one month, after a withdrawal", f"/statistics/?period={month}&site=all",
             "removed"),
            ("CSV export: the year, all sites",
             f"/statistics/export.csv?period={year}&site=all", False),
            ("XLSX export: the year, all sites",
             f"/statistics/export.xlsx?period={year}&site=all", False)):
        before: Any = None
        if fresh is True:
            before = forget
        elif fresh:
            before = functools.partial(changed_elsewhere, fresh)
        count = max(3, runs // 4) if fresh in (True, "removed") else runs
        rows.append((what, timed(lambda path=path: get(path), count, before=before)))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    levels: Counter[tuple[int, int]] = Counter()
    held: Counter[tuple[int, int]] = Counter()
    for key in p.values:
        level = (min(period.level(key[1]), 2), site_level := sites.level(key[2]))
        levels[level] += 1
        held[level] += key in p.withheld
        del site_level
    print(f"\n{label}: {n:,} incidents reported in {year} at {n_sites} sites (seeded in "
          f"{seeded:.0f} s); k = {k}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; times in ms")
    print(f"  {'operation':<48} {'runs':>5} {'median':>9} {'p95':>9}")
    for what, samples in rows:
        med, p95 = ms(samples)
        print(f"  {what:<48} {len(samples):>5} {med:>9.1f} {p95:>9.1f}")
    print(f"  grid: {len(p.values):,} cells, {len(p.primary):,} below k, "
          f"{len(p.withheld):,} withheld in all ({len(p.moves):,} moves); a remembered "
          f"year holds {held_mb:.0f} MB")
    names = {0: "month", 1: "quarter", 2: "year"}
    for (t_level, s_level), total in sorted(levels.items()):
        where = "all sites" if s_level else "one site"
        print(f"    {names[t_level]:>8} x {where:<10} {held[(t_level, s_level)]:>7,} of "
              f"{total:>7,} cells withheld ({100 * held[(t_level, s_level)] / total:.1f} %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=50_000)
    parser.add_argument("--pg-incidents", type=int, default=50_000)
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        run(f"sqlite:///{tmp}/bench.db", instance, args.incidents, args.sites, args.runs,
            "SQLite")
        base, why = (None, "--no-pg") if args.no_pg else pgserver.reachable()
        if base is None:
            print(f"\nPostgreSQL: skipped ({why}; set TEST_DATABASE_URL to a reachable server)")
            return
        with pgserver.scratch(base) as url:
            run(url, instance, args.pg_incidents, args.sites, args.runs, "PostgreSQL")

if __name__ == "__main__":
    main()
