"""Backup benchmark: how long ``flask backup create``, ``verify`` and ``restore`` take, and how
big the file is, for a database of N cases (each with its own data key and sealed fields).

SQLite and, when reachable, PostgreSQL (TEST_DATABASE_URL or
postgresql://postgres@127.0.0.1:5432/test), each in databases of its own that it drops. One run
of each command (they take seconds, not microseconds); the restore includes what it always does
afterwards (the audit trail walked, every data key unwrapped), and ``restore --deep`` also opens
every sealed value. Times are wall-clock on a shared machine: the load average is printed.

Run: ``.venv/bin/python bench/bench_backup.py [--cases 5000] [--no-pg]``
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402

from app import create_app  # noqa: E402
from app.cases.models import Case  # noqa: E402
from app.db import db  # noqa: E402
from app.directory import service as directory  # noqa: E402

BATCH = 500


def make(uri: str, instance: Path) -> Flask:
    return create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
                       "SQLALCHEMY_DATABASE_URI": uri, "RATELIMIT_STORAGE_URI": "memory://",
                       "SERVER_NAME": None,
                       "AUDIT_CHECKPOINT_FILE": str(instance / "audit" / f"{abs(hash(uri))}.jsonl")})


def seed(app: Flask, n: int) -> None:
    """A migrated database with ``n`` cases, each with a name, phone, location and safe contact."""
    from flask_migrate import upgrade

    rnd = random.Random(5)
    with app.app_context():
        upgrade()
        org = directory.create_organisation("Bench NGO")
        site = directory.create_site(org, "Tripoli", "TRI")
        db.session.commit()
        org_id, site_id = org.id, site.id
        for start in range(0, n, BATCH):
            for i in range(start, min(n, start + BATCH)):
                case = Case(organisation_id=org_id, site_id=site_id, status="open",
                            risk_level="low", case_number=f"TRI-2026-{i + 1:05d}",
                            opened_on=date(2026, 1, 1) + timedelta(days=i % 300))
                case.full_name = f"Synthetic Person {rnd.randrange(10 ** 9)}"
                case.phone = f"+218 91 {rnd.randint(100, 999)} {rnd.randint(1000, 9999)}"
                case.location = f"Synthetic area {rnd.randint(1, 400)}"
                case.safe_contact = "Call after 18:00; say it is the clinic."
                db.session.add(case)
            db.session.commit()
            db.session.expunge_all()
        db.session.remove()


def timed(app: Flask, *args: str) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["backup", *args])
    elapsed = time.perf_counter() - t0
    if result.exit_code != 0:
        raise SystemExit(f"backup {args[0]} failed: {result.output.strip()}")
    return elapsed, result


def run(label: str, source: str, targets: list[str], instance: Path, n: int,
        folder: Path) -> list[str]:
    app = make(source, instance)
    t0 = time.perf_counter()
    seed(app, n)
    seeded = time.perf_counter() - t0
    out = folder / f"{label}.backup"
    create, _ = timed(app, "create", "--out", str(out))
    check, _ = timed(app, "verify", str(out))
    restore, _ = timed(make(targets[0], instance), "restore", str(out))
    deep, _ = timed(make(targets[1], instance), "restore", str(out), "--deep")
    size = out.stat().st_size
    return [label, f"{n:,}", f"{seeded:.0f}", f"{size / 1e6:.1f}", f"{size / n:,.0f}",
            f"{create:.1f}", f"{check:.2f}", f"{restore:.1f}", f"{deep:.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder, instance = Path(tmp), Path(tmp) / "instance"
        rows.append(run("SQLite", f"sqlite:///{tmp}/src.db",
                        [f"sqlite:///{tmp}/dst1.db", f"sqlite:///{tmp}/dst2.db"], instance,
                        args.cases, folder))
        base, why = (None, "--no-pg") if args.no_pg else pgserver.reachable()
        if base is None:
            print(f"PostgreSQL: skipped ({why})")
        else:
            with pgserver.scratch(base) as src, pgserver.scratch(base) as a, \
                    pgserver.scratch(base) as b:
                rows.append(run("PostgreSQL", src, [a, b], instance, args.cases, folder))
    print(f"\nflask backup, one run each; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; times in seconds")
    head = ["engine", "cases", "seed s", "file MB", "bytes/case", "create", "verify",
            "restore", "restore --deep"]
    print("  " + "  ".join(f"{h:>14}" for h in head))
    for row in rows:
        print("  " + "  ".join(f"{c:>14}" for c in row))


if __name__ == "__main__":
    main()
