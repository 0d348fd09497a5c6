"""Load test: Amana under gunicorn on PostgreSQL and Redis, 50 people at work, one table.

What it does, start to end, with nothing to set up by hand:

1. a scratch PostgreSQL database on the server of ``TEST_DATABASE_URL`` (or the local default),
   owned by a throw-away owner role and served by a throw-away runtime role, as the README
   tells an operator to set it up (``flask db upgrade`` as the owner, grants to the runtime);
2. an instance folder with production keys in a temporary directory;
3. one organisation, four sites, a safe space per site, an admin and ``--users`` accounts
   (about 86 % caseworkers, 10 % safe-space coordinators, 4 % supervisors), each with a
   password and its TOTP second factor enrolled; ``--cases`` cases sealed through the real
   model fields (own data key, encrypted fields, blind-index entries), most of them with
   consent for services so notes can be added;
4. for each ``--workers`` count: gunicorn (``gunicorn.conf.py``, ``AMANA_ENV=production``,
   Redis as the rate-limit store on a database number of its own) on a free loopback port,
   then ``bench/load_users.py``, a headless Locust run (Locust as a library) where every
   simulated person logs in (password, then a TOTP code), and, once all have, the measured
   window of ``--duration`` seconds: case list, open a case, search by name, add a note,
   search then open a new case (and record consent for services on it), log a safe-space
   session, each followed by the page its redirect leads to, as a browser would;
5. a table per run: requests per second, errors, p50/p95/p99 per action, gunicorn's CPU
   time per request (its processes' user+system time from ``/proc``) and the PostgreSQL
   backends' beside it, and each worker's memory (RSS, and PSS which shares the pages the
   workers inherited from the master fairly); then the throughput ratio between worker
   counts and the goals met or missed.

What differs from production, on purpose: gunicorn listens on plain HTTP on loopback and the
simulated browsers say ``X-Forwarded-Proto: https`` (as the TLS proxy would), send the secure
session cookie over it and a same-origin ``Referer`` with each form (production's CSRF check
requires one); each person has an address of their own in ``X-Forwarded-For``; the search
limit (30 per 10 minutes per person) and the login limit per address are raised so the load
is not throttled. The people click every ``--think`` seconds (default 0.5 to 2), much busier
than anyone at work: 50 of them are the load of several hundred real users.

Only synthetic data is made or printed (bench_cases' made-up names); everything made is
dropped at the end (database, roles, instance folder, the Redis database's keys).

    .venv/bin/python bench/load.py [--cases 5000] [--users 50] [--duration 60] [--workers 1,3]
                                   [--think 0.5,2] [--redis-db 13]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # the app, and pgserver and bench_cases beside

import pgserver  # noqa: E402  (bench/pgserver.py, beside this file)
import pyotp  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from bench_cases import FAMILY, FATHER, FIRST  # noqa: E402  (synthetic names only)
from load_report import report, verdict  # noqa: E402  (bench/load_report.py)

from app.auth import mfa, passwords  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.cases import gbvims  # noqa: E402
from app.cases.models import STATUSES, Case, CaseSequence, ConsentRecord  # noqa: E402
from app.clock import utcnow  # noqa: E402
from app.crypto.fields import _REINDEX, seal_now  # noqa: E402
from app.crypto.models import BlindIndexEntry, DataKey  # noqa: E402
from app.db import db  # noqa: E402
from app.directory.models import Organisation, SafeSpace, Site  # noqa: E402
from app.keyfiles import ensure_instance  # noqa: E402

PASSWORD = "load horse battery staple 2026"
SITES = (("Tripoli", "LTR"), ("Benghazi", "LBN"), ("Misrata", "LMS"), ("Sabha", "LSB"))
BATCH = 2_000
HOST = "127.0.0.1"
# Raised so that the load is not throttled (see the module's docstring).
LIMITS = {"AMANA_SEARCH_LIMIT": "100000 per 10 minutes",
          "AMANA_LOGIN_ADDRESS_LIMIT": "10000 per 10 minutes"}
USERS_SCRIPT = Path(__file__).resolve().parent / "load_users.py"


# --- Database, roles, instance ---------------------------------------------------------------

@dataclass
class Target:
    owner_url: str
    runtime_url: str
    runtime: str
    database: str
    admin_url: str  # the server's administrator, on the scratch database (ANALYZE)


@contextmanager
def scratch_roles(base: str) -> Iterator[Target]:
    """A scratch database owned by a new owner role, served by a new runtime role (no
    password: the local server trusts loopback), all dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    owner, runtime, name = f"load_own_{tag}", f"load_run_{tag}", f"amana_load_{tag}"

    def as_(user: str | None) -> str:
        u = sa.make_url(pgserver.url(base, name))
        return (u.set(username=user, password=None) if user else u).render_as_string(
            hide_password=False)

    try:
        pgserver.admin(base, f"CREATE ROLE {owner} LOGIN")
        pgserver.admin(base, f"CREATE ROLE {runtime} LOGIN")
        pgserver.admin(base, f"CREATE DATABASE {name} OWNER {owner}")
        yield Target(as_(owner), as_(runtime), runtime, name, as_(None))
    finally:
        pgserver.admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for role in (runtime, owner):
            pgserver.admin(base, f"DROP ROLE IF EXISTS {role}")


def redis_db(first: int) -> int:
    """The first empty Redis database from ``first`` up (another run may use one)."""
    import redis

    for number in range(first, 16):
        if redis.Redis(host=HOST, port=6379, db=number).dbsize() == 0:
            return number
    raise SystemExit("load: no empty Redis database from --redis-db to 15")


def server_env(target: Target, instance: Path, redis_number: int) -> dict[str, str]:
    """The production settings gunicorn and the seeding share."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AMANA_", "DATABASE_", "RATELIMIT_", "GUNICORN_"))}
    env.update({"AMANA_ENV": "production", "AMANA_INSTANCE_PATH": str(instance),
                "DATABASE_URL": target.runtime_url, "DATABASE_OWNER_URL": target.owner_url,
                "AMANA_ALLOWED_HOSTS": HOST,
                "RATELIMIT_STORAGE_URI": f"redis://{HOST}:6379/{redis_number}",
                "XDG_RUNTIME_DIR": str(instance.parent),  # gunicorn's control socket
                **LIMITS})
    return env


# --- Seeding ---------------------------------------------------------------------------------

def _name(rnd: random.Random) -> str:
    script = rnd.randrange(2)
    return f"{rnd.choice(FIRST[script])} {rnd.choice(FATHER[script])} {rnd.choice(FAMILY[script])}"


def seed_people(users: int) -> list[dict[str, Any]]:
    """The organisation, its sites and safe spaces, an admin and ``users`` accounts with their
    second factor enrolled; returns the accounts the simulated people log in as."""
    org = Organisation(name="Load NGO")
    db.session.add(org)
    db.session.flush()
    sites = [Site(organisation_id=org.id, name=n, code=c) for n, c in SITES]
    db.session.add_all(sites)
    db.session.flush()
    spaces = [SafeSpace(organisation_id=org.id, site_id=s.id, name=f"{s.name} safe space")
              for s in sites]
    db.session.add_all(spaces)
    db.session.flush()
    pw, now = passwords.hash_password(PASSWORD), utcnow()
    coordinators = max(1, round(users * 0.10))
    supervisors = max(1, round(users * 0.04))
    workers = max(1, users - coordinators - supervisors)
    out: list[dict[str, Any]] = []

    def person(username: str, role: str, where: list[Site], **extra: Any) -> User:
        user = User(username=username, display_name=username.replace("-", " ").title(),
                    organisation_id=org.id, role=role, password_hash=pw,
                    password_changed_at=now, sites=where, **extra)
        db.session.add(user)
        db.session.flush()
        secret = pyotp.random_base32(32)
        mfa.store_secret(user, secret)
        user.mfa_enrolled_at = now
        out.append({"username": username, "role": role, "secret": secret, "id": str(user.id),
                    "site": str(where[0].id) if where else ""})
        return user

    person("load-admin", "admin", [])
    for i in range(workers):
        person(f"load-worker-{i}", "caseworker", [sites[i % len(sites)]])
    for i in range(supervisors):
        person(f"load-supervisor-{i}", "supervisor", sites[i % 2 * 2:i % 2 * 2 + 2])
    for i in range(coordinators):
        k = i % len(sites)
        person(f"load-coordinator-{i}", "wgss_coordinator", [sites[k]], safe_spaces=[spaces[k]])
    db.session.commit()
    return out


def seed_cases(n: int, people: list[dict[str, Any]], rnd: random.Random) -> list[str]:
    """``n`` cases of the caseworkers, sealed by the real model fields and inserted in batches
    (as bench_cases does); about half are still open, and those have consent for services.
    Returns the names given, for the searches."""
    org_id = db.session.execute(sa.select(Organisation.id)).scalar_one()
    sites = {s.id: s.code for s in db.session.execute(sa.select(Site)).scalars()}
    workers: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for p in people:
        if p["role"] == "caseworker":
            workers[uuid.UUID(p["site"])].append(uuid.UUID(p["id"]))
    today = utcnow().date()
    opened = sorted(today - timedelta(days=rnd.randrange(3 * 365)) for _ in range(n))
    seq: dict[tuple[uuid.UUID, int], int] = defaultdict(int)
    open_statuses = [s for s in STATUSES if s != "closed"]
    names: list[str] = []
    for start in range(0, n, BATCH):
        batch, consents = [], []
        for day in opened[start:start + BATCH]:
            site_id = rnd.choice(list(workers))
            worker = rnd.choice(workers[site_id])
            seq[(site_id, day.year)] += 1
            age = rnd.randint(18, 70)
            closed = day < today - timedelta(days=120) and rnd.random() < 0.6
            status = "closed" if closed else rnd.choice(open_statuses)
            at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
            case = Case(organisation_id=org_id, site_id=site_id, primary_worker_id=worker,
                        opened_on=day, status=status, closed_at=at if closed else None,
                        risk_level=rnd.choice(("unknown", "low", "medium", "high")),
                        case_number=f"{sites[site_id]}-{day.year}-{seq[(site_id, day.year)]:05d}",
                        sex=rnd.choice(("female",) * 9 + ("male",)), age_group=gbvims.age_group(age),
                        nationality_group=rnd.choice(("national", "foreign")),
                        displacement_status=rnd.choice(gbvims.DISPLACEMENT),
                        disability=rnd.choice(("yes", "no", "unknown")), is_child=False,
                        created_at=at, updated_at=at, version=1)
            case.full_name = _name(rnd)
            names.append(case.full_name)
            case.date_of_birth = date(day.year - age, rnd.randint(1, 12), rnd.randint(1, 28))
            case.phone = f"+218 9{rnd.randint(1, 4)} {rnd.randint(100, 999)} {rnd.randint(1000, 9999)}"
            case.location = f"Synthetic area {rnd.randint(1, 400)}, block {rnd.randint(1, 40)}"
            batch.append(case)
            if not closed:
                consents.append({"id": uuid.uuid4(), "position": 1, "case_id": case.id,
                                 "kind": "services", "granted": True, "given_by": "survivor",
                                 "method": "verbal", "recorded_by_id": worker, "recorded_at": at})
        for case in batch:
            seal_now(case)
        keys = [{c.key: getattr(k, c.key) for c in DataKey.__table__.columns}
                for k in db.session.new if isinstance(k, DataKey)]
        db.session.expunge_all()
        entries = [row for c in batch for rows in c.__dict__.get(_REINDEX, {}).values()
                   for row in rows]
        db.session.execute(sa.insert(DataKey.__table__), keys)
        db.session.execute(sa.insert(Case.__table__),
                           [{c.key: getattr(case, c.key) for c in Case.__table__.columns}
                            for case in batch])
        db.session.execute(sa.insert(BlindIndexEntry.__table__), entries)
        if consents:
            db.session.execute(sa.insert(ConsentRecord.__table__), consents)
        db.session.commit()
    db.session.add_all([CaseSequence(site_id=site_id, year=year, last_value=value)
                        for (site_id, year), value in seq.items()])
    db.session.commit()
    return names


def prepare(target: Target, instance: Path, env: dict[str, str], n: int, users: int) -> dict[str, Any]:
    """Keys, schema (as the owner) and data (as the runtime role); what the people need."""
    ensure_instance(instance, environment="production")
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app

    app = create_app()
    with app.app_context():
        upgrade()
        t0 = time.perf_counter()
        people = seed_people(users)
        names = seed_cases(n, people, random.Random(17))
        seeded = time.perf_counter() - t0
        db.session.remove()
        db.engine.dispose()
    engine = sa.create_engine(target.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    rnd = random.Random(18)
    return {"people": [p for p in people if p["role"] != "admin"], "password": PASSWORD,
            "names": rnd.sample(names, min(len(names), 500)), "seeded": seeded}


# --- gunicorn --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(env: dict[str, str], workers: int, log: Path) -> Iterator[tuple[int, int]]:
    """gunicorn with ``workers`` workers on a free loopback port, until the block ends:
    (its master's pid, the port)."""
    port = free_port()
    binary = Path(sys.executable).parent / "gunicorn"
    with log.open("w") as err:
        proc = subprocess.Popen([str(binary), "-c", "gunicorn.conf.py", "-w", str(workers),
                                 "-b", f"{HOST}:{port}", "wsgi:app"],
                                cwd=ROOT, env=env, stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"load: gunicorn stopped (status {proc.returncode}); see {log}")
            try:
                request = urllib.request.Request(f"http://{HOST}:{port}/healthz",
                                                 headers={"Host": HOST})
                with urllib.request.urlopen(request, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"load: gunicorn did not answer within 120 s; see {log}")
            time.sleep(0.5)
        yield proc.pid, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- Running and reporting -------------------------------------------------------------------

def run_users(config: dict[str, Any], work: Path, workers: int) -> dict[str, Any]:
    """One Locust run in its own process (gevent stays out of this one); its results."""
    path = work / f"users-{workers}.json"
    out = work / f"result-{workers}.json"
    path.write_text(json.dumps({**config, "out": str(out)}), encoding="utf-8")
    path.chmod(0o600)
    done = subprocess.run([sys.executable, str(USERS_SCRIPT), str(path)], check=False)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"load: the Locust run with {workers} worker(s) failed "
                         f"(status {done.returncode})")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60, help="measured seconds per run")
    parser.add_argument("--workers", default="1,3", help="gunicorn worker counts, e.g. 1,3")
    parser.add_argument("--think", default="0.5,2", help="seconds between a person's clicks")
    parser.add_argument("--spawn-rate", type=float, default=10, help="people starting per second")
    parser.add_argument("--redis-db", type=int, default=13, help="first Redis database to try")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    think = [float(t) for t in args.think.split(",")]
    logging.disable(logging.INFO)
    base, why = pgserver.reachable()
    if base is None:
        raise SystemExit(f"load: PostgreSQL is not reachable ({why}); set TEST_DATABASE_URL")
    number = redis_db(args.redis_db)
    import redis

    store = redis.Redis(host=HOST, port=6379, db=number)
    with tempfile.TemporaryDirectory(prefix="amana-load-") as tmp, scratch_roles(base) as target:
        work = Path(tmp)
        instance = work / "instance"
        env = server_env(target, instance, number)
        try:
            print(f"Seeding {args.cases:,} cases and {args.users} accounts (PostgreSQL "
                  f"{target.database}, Redis db {number}) ...", flush=True)
            data = prepare(target, instance, env, args.cases, args.users)
            print(f"Seeded in {data.pop('seeded'):.0f} s.", flush=True)
            results: dict[int, dict[str, Any]] = {}
            for workers in counts:
                store.flushdb()  # each run starts with no rate-limit counts
                with gunicorn(env, workers, work / f"gunicorn-{workers}.log") as (pid, port):
                    print(f"Running {args.users} users against {workers} worker(s) for "
                          f"{args.duration:.0f} s ...", flush=True)
                    results[workers] = run_users({
                        **data, "host": f"http://{HOST}:{port}", "users": args.users,
                        "duration": args.duration, "think": think,
                        "spawn_rate": args.spawn_rate, "master": pid,
                        "pg_title": f" {target.runtime} {target.database} "},
                        work, workers)
                report(workers, results[workers], args.users)
            verdict(results)
        finally:
            store.flushdb()


if __name__ == "__main__":
    main()
