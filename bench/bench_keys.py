"""Key lifecycle benchmark: what it costs to read the active KEK version in every transaction.

Since issue 12 a new data key is wrapped under the version ``kek_versions`` names in the
wrapping transaction (one small query, locked FOR SHARE on PostgreSQL, then kept for the rest
of that transaction), instead of a version remembered for the life of the process. This times
one transaction that makes one data key, as a request that creates a record does (BEGIN, new
data key, flush, ROLLBACK so the table stays the same size), with the query and with it
replaced by the old per-process answer, and a transaction that makes 100 data keys (one
query). SQLite and, when reachable, PostgreSQL (TEST_DATABASE_URL or
postgresql://postgres@127.0.0.1:5432/test), each in a database of its own that it drops.

Run: ``.venv/bin/python bench/bench_keys.py [--transactions 2000]``
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.crypto.envelope import new_data_key  # noqa: E402
from app.crypto.keyring import Keyring, keyring  # noqa: E402
from app.db import db  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def best_per_call(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Best time per call in microseconds over ``rounds`` runs of ``n`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def one_key() -> None:
    new_data_key("bench")
    db.session.flush()
    db.session.rollback()


def hundred_keys() -> None:
    for _ in range(100):
        new_data_key("bench")
    db.session.flush()
    db.session.rollback()


def run_backend(name: str, url: str, instance: Path, n: int) -> list[list[str]]:
    app = create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
                      "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://"})
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        one_key()  # verifies the keyring once, as the first request would
        now = best_per_call(one_key, n)
        batch = best_per_call(hundred_keys, max(n // 100, 5)) / 100
        active = keyring().active_version
        real = Keyring._active_in_transaction
        Keyring._active_in_transaction = lambda self: active  # type: ignore[method-assign]
        try:
            before = best_per_call(one_key, n)
        finally:
            Keyring._active_in_transaction = real  # type: ignore[method-assign]
        db.session.remove()
        db.engine.dispose()
    return [[name, "1 data key per transaction, version read in it (now)", f"{now:,.0f} µs",
             f"+{now - before:,.0f} µs ({now / before - 1:+.0%})"],
            [name, "1 data key per transaction, version kept by the process (before)",
             f"{before:,.0f} µs", ""],
            [name, "100 data keys in one transaction (one read), per key", f"{batch:,.1f} µs", ""]]


def pg_admin(url: str, sql: str) -> None:
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the migrations log every step
    tmp = Path(tempfile.mkdtemp(prefix="amana-bench-"))
    backends = [("SQLite", f"sqlite:///{tmp / 'bench.db'}")]
    pg_url = os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
    pg_db = f"amana_bench_keys_{os.getpid()}"
    if not args.no_postgres:
        try:
            pg_admin(pg_url, f"CREATE DATABASE {pg_db}")
            backends.append(("PostgreSQL", sa.make_url(pg_url).set(
                drivername="postgresql+psycopg", database=pg_db).render_as_string(False)))
        except sa.exc.OperationalError:
            print("PostgreSQL not reachable: its rows are left out.", file=sys.stderr)
    rows = [["backend", "measure", "time", "cost of the read"]]
    load_start = os.getloadavg()[0]
    try:
        for name, url in backends:
            rows += run_backend(name, url, tmp / f"instance-{name}", args.transactions)
    finally:
        if len(backends) > 1:
            pg_admin(pg_url, f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"\nActive KEK version read per transaction ({os.cpu_count()} CPUs, best of 5 x "
          f"{args.transactions:,}; load average at start {load_start:.1f}, at end "
          f"{os.getloadavg()[0]:.1f})\n")
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
