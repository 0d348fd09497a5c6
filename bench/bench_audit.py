"""Audit trail benchmark: what the chain costs on the write path, and how fast it verifies.

For SQLite and (when reachable) PostgreSQL, in a database of its own that it creates and drops:

1. loads a trail of --events events (default 1,000,000; sealed with the real MAC code, written
   in bulk) and verifies it with one process and with one worker process per CPU (at most 4);
2. times keyset search pages on that trail (newest page, a page half-way back, filters);
3. appends through ``record()`` (each event its own transaction, as a request does) against
   the same inserts into a table without the chain: one writer, then four writer processes
   (the same processes alternate chain and plain phases, so load drifts hit both sides).

Targets (issue 4): the chain costs at most 1.5x a plain insert; verification runs at 200,000
events a second or better. Run: ``.venv/bin/python bench/bench_audit.py`` (a few minutes on two
cores). PostgreSQL comes from TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.audit import queries  # noqa: E402
from app.audit.actions import Action  # noqa: E402
from app.audit.canonical import GENESIS_MAC, compute_mac, time_text  # noqa: E402
from app.audit.models import AuditEvent  # noqa: E402
from app.audit.verify import verify_chain  # noqa: E402
from app.audit.writer import record  # noqa: E402
from app.clock import utcnow  # noqa: E402
from app.db import db, transaction  # noqa: E402
from app.keyfiles import ensure_instance  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
COLUMNS = ("seq", "occurred_at", "actor_id", "actor_role", "organisation_id", "action",
           "object_type", "object_id", "outcome", "reason", "request_id", "client_address",
           "prev_mac", "mac")
ACTIONS = [a.value for a in Action]
ROLES = ["caseworker", "supervisor", "service_provider", "auditor", "admin"]
START, SPACING = datetime(2026, 1, 1, tzinfo=UTC), timedelta(milliseconds=600)  # 1M: ~a week


def make_app(url: str, instance: Path) -> Any:
    return create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
                       "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://"})


def plain_table() -> sa.Table:
    """The same event columns and indexes as the trail, without the chain."""
    md = sa.MetaData()
    cols = [c._copy() for c in AuditEvent.__table__.columns if c.name not in ("seq", "prev_mac", "mac")]
    return sa.Table("bench_plain_events", md,
                    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
                    *cols)


def fields(i: int, start: datetime, rng: random.Random, actors: list[uuid.UUID], org: uuid.UUID
           ) -> dict[str, Any]:
    actor = rng.choice(actors) if i % 7 else None
    return {"seq": i, "occurred_at": start + SPACING * i,
            "actor_id": actor, "actor_role": rng.choice(ROLES) if actor else None,
            "organisation_id": org if actor else None, "action": rng.choice(ACTIONS),
            "object_type": "case", "object_id": str(uuid.uuid4()),
            "outcome": "denied" if i % 11 == 0 else "allowed",
            "reason": "role" if i % 11 == 0 else None, "request_id": str(uuid.uuid4()),
            "client_address": f"10.0.{i % 250}.{i % 200}"}


def load(app: Any, n: int, actors: list[uuid.UUID]) -> float:
    """Write a sealed trail of n events in bulk (as the writer would have) and move the head."""
    key, rng, org = app.config["KEY_AUDIT_HMAC"], random.Random(4), uuid.uuid4()
    start, prev = START, GENESIS_MAC
    began = time.perf_counter()
    with app.app_context():
        raw = db.engine.raw_connection()
        dialect = db.engine.dialect.name
        try:
            cur = raw.cursor()
            if dialect == "sqlite":
                cur.execute("BEGIN")  # the app's connections run in autocommit mode
            for lo in range(1, n + 1, 20_000):
                rows = []
                for i in range(lo, min(lo + 20_000, n + 1)):
                    f = fields(i, start, rng, actors, org)
                    mac = compute_mac(key, prev, f)
                    f.update(prev_mac=prev, mac=mac)
                    prev = mac
                    rows.append(f)
                if dialect == "sqlite":
                    cur.executemany(f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES "
                                    f"({', '.join('?' * len(COLUMNS))})", [tuple(
                                        time_text(v) if k == "occurred_at" else
                                        v.hex if isinstance(v, uuid.UUID) else v
                                        for k, v in ((c, r[c]) for c in COLUMNS)) for r in rows])
                else:
                    with cur.copy(f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                        for r in rows:
                            copy.write_row(tuple(r[c] for c in COLUMNS))
            mark = "?" if dialect == "sqlite" else "%s"  # one statement: the head guard
            cur.execute(f"UPDATE audit_head SET seq = {mark}, mac = {mark} WHERE id = 0",
                        (n, prev))  # all on chain 0, as a trail written before the chains
            if dialect == "postgresql":
                cur.execute("SELECT setval('audit_events_seq', %s)", (n,))
            raw.commit()
            if dialect == "postgresql":
                cur.execute("ANALYZE audit_events")
                raw.commit()
        finally:
            raw.close()
    return time.perf_counter() - began


def verify_rate(app: Any, jobs: int) -> tuple[float, int, float]:
    """Events per wall-clock second, count, and events per CPU-second of this process (the
    last is what a quiet core would do for SQLite, which runs in-process; with worker processes
    or PostgreSQL, work happens elsewhere and it is not meaningful)."""
    with app.app_context():
        cpu = time.process_time()
        result = verify_chain(db.engine, app.config["KEY_AUDIT_HMAC"], jobs=jobs)
        cpu = time.process_time() - cpu
    assert result.ok, result.broken
    return result.rate, result.count, result.count / cpu if cpu else 0.0


def search_ms(app: Any, actor: uuid.UUID, n: int) -> dict[str, float]:
    """Milliseconds per search page (median of five) on the loaded trail."""
    cases = {
        "newest page": (queries.EventFilter(), None),
        "page half-way back": (queries.EventFilter(), n // 2),
        "one account": (queries.EventFilter(actor_id=actor), None),
        "one account, half-way back": (queries.EventFilter(actor_id=actor), n // 2),
        "denied, one hour half-way back": (queries.EventFilter(
            outcome="denied", since=START + SPACING * (n // 2),
            until=START + SPACING * (n // 2) + timedelta(hours=1)), None),
    }
    out = {}
    with app.app_context():
        for label, (f, before) in cases.items():
            times = []
            for _ in range(5):
                t = time.perf_counter()
                page = queries.events_page(f, before=before)
                times.append(time.perf_counter() - t)
                db.session.rollback()
            assert page.rows, label
            out[label] = statistics.median(times) * 1000
    return out


def _one(kind: str, plain: Any) -> None:
    if kind == "chain":
        with transaction():
            record(Action.AUDIT_SEARCH, object_type="user", object_id=uuid.uuid4(), reason="bench")
    else:
        with transaction():
            db.session.connection().execute(plain, {
                "occurred_at": utcnow(), "action": Action.AUDIT_SEARCH.value, "object_type": "user",
                "object_id": str(uuid.uuid4()), "outcome": "allowed", "reason": "bench",
                "actor_id": None, "actor_role": None, "organisation_id": None,
                "request_id": None, "client_address": None})


def append_single(app: Any, n: int) -> tuple[float, float]:
    """Transactions per second, chain and plain, in alternating blocks (fair under noise)."""
    plain = sa.insert(plain_table())
    spent = {"chain": [], "plain": []}
    with app.app_context():
        for _ in range(8):
            for kind in ("chain", "plain"):
                t = time.perf_counter()
                for _ in range(n // 8):
                    _one(kind, plain)
                spent[kind].append((time.perf_counter() - t) / (n // 8))
    return 1 / statistics.median(spent["chain"]), 1 / statistics.median(spent["plain"])


def _writer(url: str, instance: str, phases: list[str], n: int, barrier: Any, out: Any) -> None:
    app = make_app(url, Path(instance))
    plain = sa.insert(plain_table())
    with app.app_context():
        for kind in set(phases):
            _one(kind, plain)  # connect and warm up before any clock starts
        for i, kind in enumerate(phases):
            barrier.wait()  # every writer starts each phase together
            t = time.monotonic()
            for _ in range(n):
                _one(kind, plain)
            out.put((i, t, time.monotonic()))
        db.engine.dispose()


def append_parallel(url: str, instance: Path, writers: int, n: int, rounds: int = 4
                    ) -> tuple[float, float]:
    """Transactions per second with ``writers`` processes, chain and plain, in alternating
    phases (chain, plain, plain, chain, ...) run by the same processes, so that load drifting
    on the machine hits both sides alike. Each phase's rate is its transactions over the time
    from its first writer's start to its last writer's end; the figure is the median phase."""
    phases = [k for r in range(rounds) for k in (("chain", "plain") if r % 2 == 0
                                                   else ("plain", "chain"))]
    per_phase = max(n // rounds, 25)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, str(instance), phases, per_phase, barrier,
                                               out)) for _ in range(writers)]
    for p in procs:
        p.start()
    spans: dict[int, list[tuple[float, float]]] = {}
    for _ in range(writers * len(phases)):
        i, start, end = out.get(timeout=600)
        spans.setdefault(i, []).append((start, end))
    for p in procs:
        p.join()
        assert p.exitcode == 0
    rates: dict[str, list[float]] = {"chain": [], "plain": []}
    for i, kind in enumerate(phases):
        s = spans[i]
        rates[kind].append(writers * per_phase / (max(e for _, e in s) - min(b for b, _ in s)))
    return statistics.median(rates["chain"]), statistics.median(rates["plain"])


def run_backend(name: str, url: str, instance: Path, args: argparse.Namespace) -> list[list[str]]:
    app = make_app(url, instance)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        plain_table().create(db.engine)
    actors = [uuid.uuid4() for _ in range(50)]
    print(f"{name}: loading {args.events:,} events ...", file=sys.stderr)
    load(app, args.events, actors)
    jobs = max(1, min(os.cpu_count() or 1, 4))
    rows: list[list[str]] = []
    for j in sorted({1, jobs}):
        rate, count, per_cpu = verify_rate(app, j)
        rows.append([name, f"verify {count:,} events, {j} process(es)", f"{rate:,.0f}/s", "", "",
                     "≥ 200,000/s", "ok" if rate >= 200_000 else "MISSED"])
        if j == 1 and name == "SQLite":
            rows.append([name, "verify, per CPU-second of the process", f"{per_cpu:,.0f}/s", "",
                         "", "", ""])
    for label, ms in search_ms(app, actors[3], args.events).items():
        rows.append([name, f"search page: {label}", f"{ms:,.1f} ms", "", "", "", ""])
    chain, plain = append_single(app, args.appends)
    rows.append([name, "append, 1 writer", f"{chain:,.0f} tx/s", f"{plain:,.0f} tx/s",
                 f"{plain / chain:.2f}x", "≤ 1.5x", "ok" if plain / chain <= 1.5 else "MISSED"])
    with app.app_context():
        db.engine.dispose()
    chain, plain = append_parallel(url, instance, args.writers,
                                   max(args.appends // args.writers, 100))
    rows.append([name, f"append, {args.writers} writer processes", f"{chain:,.0f} tx/s",
                 f"{plain:,.0f} tx/s", f"{plain / chain:.2f}x", "≤ 1.5x",
                 "ok" if plain / chain <= 1.5 else "MISSED"])
    with app.app_context():
        result = verify_chain(db.engine, app.config["KEY_AUDIT_HMAC"])
        assert result.ok, result.broken  # concurrent appends left one unbroken chain
    return rows


def pg_admin(url: str, sql: str) -> None:
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="amana-bench-"))
    instance = tmp / "instance"
    ensure_instance(instance, environment="testing")
    backends = [] if args.no_sqlite else [("SQLite", f"sqlite:///{tmp / 'bench.db'}")]
    pg_url = os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
    pg_db = f"amana_bench_{os.getpid()}"
    if not args.no_postgres:
        try:
            pg_admin(pg_url, f"CREATE DATABASE {pg_db}")
            backends.append(("PostgreSQL", sa.make_url(pg_url).set(
                drivername="postgresql+psycopg", database=pg_db).render_as_string(False)))
        except sa.exc.OperationalError:
            print("PostgreSQL not reachable: its rows are left out.", file=sys.stderr)
    rows = [["backend", "measure", "with chain", "plain insert", "cost", "target", ""]]
    load_start = os.getloadavg()[0]  # other work on the machine skews every figure
    try:
        for name, url in backends:
            rows += run_backend(name, url, instance, args)
    finally:
        if any(name == "PostgreSQL" for name, _ in backends):
            pg_admin(pg_url, f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"\nAudit trail benchmark ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"load average at start {load_start:.1f}, at end {os.getloadavg()[0]:.1f})\n")
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in
                        enumerate(zip(r, widths, strict=True))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
