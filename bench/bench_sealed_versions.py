"""What binding sealed values to their record's version costs: prints one table, asserts nothing.

1. Saving a change to one field of a case-like record with seven sealed values (one SQLite
   transaction each): as Amana does it (every value of the record sealed again under the new
   version, one ``record.write`` audit event), against the same save with those two steps
   switched off (only the changed value sealed, no event: what a save cost before).
2. ``flask keys verify --deep`` on N such records (default 10,000): every value opened, every
   version compared with the audit trail.

Runs on a throw-away SQLite database and instance folder in a temporary directory:
    .venv/bin/python bench/bench_sealed_versions.py [--records 10000] [--saves 300]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import MetaData, event  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Session  # noqa: E402

from app import create_app  # noqa: E402
from app.crypto import deep, fields  # noqa: E402
from app.crypto.fields import SealedLongText, SealedRecord, SealedText  # noqa: E402
from app.db import UUIDPrimaryKey, Versioned, db  # noqa: E402


class BenchBase(DeclarativeBase):
    """The benchmark's own table, outside the app's migrations."""

    metadata = MetaData()


class BenchRecord(SealedRecord, UUIDPrimaryKey, Versioned, BenchBase):
    """Seven sealed values, as a case has."""

    __tablename__ = "bench_records"

    full_name = SealedText(max_length=200)
    alias = SealedText(max_length=200)
    phone = SealedText(max_length=40)
    birth = SealedText(max_length=40)
    age = SealedText(max_length=40)
    location = SealedLongText()
    safe_contact = SealedLongText()


VALUES = {"full_name": "فاطمة الزهراء علي", "alias": "Fatima Ali", "phone": "+218 91 234 5678",
          "birth": "1994-03-02", "age": "31", "location": "مخيم تاورغاء، المربع ج",
          "safe_contact": "Call only after 6pm, ask for her sister; never leave a message."}


def _saves(ids: list[uuid.UUID], rounds: int) -> float:
    """Milliseconds per save (change one value, commit), best of three runs over ``ids``."""
    best = float("inf")
    for r in range(3):
        db.session.expunge_all()
        start = time.perf_counter()
        for i, rid in enumerate(ids[:rounds]):
            rec = db.session.get(BenchRecord, rid)
            rec.phone = f"+218 91 555 {r}{i:04d}"
            db.session.commit()
        best = min(best, time.perf_counter() - start)
    return best / rounds * 1000


def _without_versions() -> None:
    fields_hook = fields._seal_under_new_versions  # noqa: SLF001
    from app.db import _WRITE_HOOKS  # noqa: PLC2701

    _WRITE_HOOKS.remove(fields_hook)
    event.remove(Session, "after_flush", fields._audit_writes)  # noqa: SLF001


def main() -> None:
    """Run both parts and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--saves", type=int, default=300)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the migrations log every step
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(Path(tmp) / "instance"),
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                          "RATELIMIT_STORAGE_URI": "memory://"})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            BenchBase.metadata.create_all(db.engine)
            t0 = time.perf_counter()
            ids = []
            for start in range(0, args.records, 500):
                batch = [BenchRecord(**VALUES) for _ in range(min(500, args.records - start))]
                db.session.add_all(batch)
                db.session.commit()
                ids += [r.id for r in batch]
            fill = time.perf_counter() - t0
            with_versions = _saves(ids, args.saves)
            # The deep check reads the app's sealed models; add the bench table to them.
            deep.sealed_models = lambda: [BenchRecord]  # type: ignore[assignment]
            t0 = time.perf_counter()
            result = deep.deep_check(1000, lambda f: None)
            t_deep = time.perf_counter() - t0
            assert result.clean, result.found
            _without_versions()
            without = _saves(ids, args.saves)
    per_field = (with_versions - without) * 1000
    print(f"\nSaving one changed value of a record with 7 sealed values ({args.saves} saves, "
          "best of 3, SQLite)")
    print(f"  {'save':<58} {'ms/save':>8}")
    print(f"  {'only the changed value sealed, no event (before)':<58} {without:>8.2f}")
    print(f"  {'all 7 sealed under the new version + record.write event':<58} "
          f"{with_versions:>8.2f}")
    print(f"  {'difference':<58} {with_versions - without:>8.2f}  ({per_field:.0f} us, "
          f"{with_versions / without:.2f}x)")
    print(f"\nkeys verify --deep on {result.records:,} records ({result.values:,} values; "
          f"{fill:.1f} s to create them through the ORM)")
    print(f"  {'whole run':<58} {t_deep:>7.1f} s")
    print(f"  {'records per second':<58} {result.records / t_deep:>9,.0f}")
    print(f"  {'sealed values opened per second':<58} {result.values / t_deep:>9,.0f}")


if __name__ == "__main__":
    main()
