"""Field-level encryption benchmark: prints one table, asserts nothing.

1. Sealing one field (a ~30-byte Arabic name) and opening it: Amana's ``seal_value`` /
   ``open_value`` and the model attribute, against the bare ``AESGCM`` call (nonce + encrypt with
   the same AAD) and sqlalchemy-utils' ``StringEncryptedType`` with ``AesGcmEngine`` (install it
   in the venv to include it; it is not a dependency of Amana).
2. Exact-name search among N records (default 100,000): blind index + confirmation against
   decrypt-and-scan (one query joining the data keys, then unwrap and open every name).
3. Rotating the N data keys to a new KEK version, then verifying that every one opens.

Runs on a throw-away SQLite database and instance folder in a temporary directory:
    .venv/bin/python bench/bench_crypto.py [--records 100000]
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from sqlalchemy import MetaData, insert, select  # noqa: E402
from sqlalchemy.orm import DeclarativeBase  # noqa: E402

from app import create_app  # noqa: E402
from app.crypto import rotation  # noqa: E402
from app.crypto.aead import seal_with  # noqa: E402
from app.crypto.blind_index import PERSON_NAME  # noqa: E402
from app.crypto.envelope import new_data_key, wrap_context  # noqa: E402
from app.crypto.fields import SealedLongText, SealedRecord, SealedText  # noqa: E402
from app.crypto.keyring import keyring  # noqa: E402
from app.crypto.models import BlindIndexEntry, DataKey  # noqa: E402
from app.crypto.normalise import normalise_text  # noqa: E402
from app.crypto.sealed import FORMAT, TEXT, aad, open_value, seal_value  # noqa: E402
from app.crypto.search import find  # noqa: E402
from app.db import UUIDPrimaryKey, Versioned, db  # noqa: E402

NAME = "فاطمة الزهراء علي"
FIRST = ["فاطمة", "عائشة", "مريم", "خديجة", "زينب", "آمنة", "سلمى", "نور", "هدى", "ليلى",
         "Fatima", "Aisha", "Mariam", "Khadija", "Zainab", "Amina", "Salma", "Noor", "Huda", "Layla"]
FAMILY = ["علي", "محمد", "أحمد", "إبراهيم", "حسن", "عمر", "يوسف", "مصطفى", "سالم", "خليل",
          "Ali", "Mohamed", "Ahmed", "Ibrahim", "Hassan", "Omar", "Youssef", "Mustafa", "Salem"]


class BenchBase(DeclarativeBase):
    """The benchmark's own table, outside the app's migrations."""

    metadata = MetaData()


class BenchCase(SealedRecord, UUIDPrimaryKey, Versioned, BenchBase):
    """A case-like record: an indexed sealed name and an unindexed sealed text."""

    __tablename__ = "bench_cases"

    full_name = SealedText(max_length=200, index=PERSON_NAME)
    notes = SealedLongText()


def per_call(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Best time per call in microseconds over ``rounds`` runs of ``n`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def field_rows(n: int) -> list[tuple[str, float, str]]:
    """Seal/open timings (microseconds per value) with the ratio to the bare call."""
    rec = BenchCase()
    rid, kid = rec.id, rec.data_key_id
    cipher_ = AESGCM(os.urandom(32))
    where = aad("bench_cases", "full_name", rid, kid, 1, b"full_name")
    plain = TEXT.encode(NAME)
    blob_bare = seal_with(cipher_, plain, where)
    bare_seal = per_call(lambda: cipher_.encrypt(os.urandom(12), plain, where), n)
    nonce, body = blob_bare[1:13], blob_bare[13:]
    bare_open = per_call(lambda: cipher_.decrypt(nonce, body, b"\x01" + where), n)
    key = os.urandom(32)
    built_seal = per_call(lambda: AESGCM(key).encrypt(os.urandom(12), plain, where), n)
    blob_built = AESGCM(key).encrypt(nonce, plain, where)
    built_open = per_call(lambda: AESGCM(key).decrypt(nonce, blob_built, where), n)
    kw = {"table": "bench_cases", "field": "full_name", "record_id": rid, "data_key_id": kid,
          "version": 1, "present": b"full_name"}
    ours_seal = per_call(lambda: seal_value(TEXT, NAME, **kw), n)
    blob = seal_value(TEXT, NAME, **kw)
    ours_open = per_call(lambda: open_value(TEXT, blob, **kw), n)

    def attr_set() -> None:
        rec.notes = NAME

    attr_write = per_call(attr_set, n)
    attr_read = per_call(lambda: (rec.__dict__.pop("_amana_plain", None), rec.notes), n)
    def vs(ours: float, bare: float, built: float) -> str:
        return f"{ours / bare:.2f}x / {ours / built:.2f}x"

    rows = [("bare: aesgcm.encrypt(urandom(12), ...)", bare_seal, "1.00x"),
            ("bare: AESGCM(key).encrypt(...) per call", built_seal, "-      1.00x"),
            ("Amana seal_value", ours_seal, vs(ours_seal, bare_seal, built_seal)),
            ("Amana model attribute write", attr_write, vs(attr_write, bare_seal, built_seal)),
            ("bare: aesgcm.decrypt(...)", bare_open, "1.00x"),
            ("bare: AESGCM(key).decrypt(...) per call", built_open, "-      1.00x"),
            ("Amana open_value", ours_open, vs(ours_open, bare_open, built_open)),
            ("Amana model attribute read (uncached)", attr_read,
             vs(attr_read, bare_open, built_open))]
    try:
        from sqlalchemy import Unicode
        from sqlalchemy_utils import StringEncryptedType
        from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine
    except ImportError:
        rows.append(("sqlalchemy-utils StringEncryptedType", float("nan"), "not installed"))
        return rows
    col = StringEncryptedType(Unicode, os.urandom(32).hex(), AesGcmEngine)
    dialect = db.engine.dialect
    su_seal = per_call(lambda: col.process_bind_param(NAME, dialect), n)
    stored = col.process_bind_param(NAME, dialect)
    su_open = per_call(lambda: col.process_result_value(stored, dialect), n)
    rows += [("sqlalchemy-utils AesGcmEngine encrypt (no AAD)", su_seal,
              vs(su_seal, bare_seal, built_seal)),
             ("sqlalchemy-utils AesGcmEngine decrypt (no AAD)", su_open,
              vs(su_open, bare_open, built_open))]
    return rows


def _aad(rid: uuid.UUID, kid: uuid.UUID) -> bytes:
    """The associated data of a new record's name (version 1, the only value present)."""
    return aad("bench_cases", "full_name", rid, kid, 1, b"full_name")


def populate(n: int, target: str) -> None:
    """N records, each with its own data key, inserted in bulk (same crypto as the models)."""
    ring, rnd = keyring(), random.Random(5)
    cases, keys, entries = [], [], []
    for i in range(n):
        name = target if i == n // 2 else (
            f"{rnd.choice(FIRST)} {rnd.choice(FIRST)} {rnd.choice(FAMILY)} {i % 997}")
        raw, kid, rid = os.urandom(32), uuid.uuid4(), uuid.uuid4()
        version, wrapped = ring.wrap(raw, wrap_context(kid))
        keys.append({"id": kid, "purpose": "bench_cases", "kek_version": version,
                     "wrapped": wrapped, "created_at": None})
        nonce = os.urandom(12)
        cases.append({"id": rid, "data_key_id": kid, "version": 1,
                      "full_name_sealed": FORMAT + nonce + AESGCM(raw).encrypt(
                          nonce, TEXT.encode(name), FORMAT + _aad(rid, kid))})
        digest = PERSON_NAME.digest(name)
        entries.append({"index_name": PERSON_NAME.name, "digest": digest,
                        "owner_table": "bench_cases", "owner_id": rid, "field": "full_name",
                        "data_key_id": kid})
    from app.clock import utcnow

    now = utcnow()
    for k in keys:
        k["created_at"] = now
    for table, rows in ((DataKey.__table__, keys), (BenchCase.__table__, cases),
                        (BlindIndexEntry.__table__, entries)):
        for start in range(0, n, 5000):
            db.session.execute(insert(table), rows[start:start + 5000])
    db.session.commit()


def scan(target: str) -> list[uuid.UUID]:
    """Decrypt-and-scan: every name opened and compared (data keys joined, unwrapped here)."""
    ring, wanted, found = keyring(), normalise_text(target), []
    rows = db.session.execute(
        select(BenchCase.id, BenchCase.data_key_id, BenchCase.full_name_sealed,
               DataKey.kek_version, DataKey.wrapped)
        .join(DataKey, DataKey.id == BenchCase.data_key_id))
    for rid, kid, blob, version, wrapped in rows:
        raw = ring.unwrap(version, wrapped, wrap_context(kid))
        name = TEXT.decode(AESGCM(raw).decrypt(blob[1:13], blob[13:], FORMAT + _aad(rid, kid)))
        if normalise_text(name) == wanted:
            found.append(rid)
    return found


def indexed(target: str) -> list[uuid.UUID]:
    """Blind-index search with confirmation, in a fresh unit of work (no cached keys)."""
    db.session.expunge_all()
    from flask import g

    g.pop("_amana_data_keys", None)
    return [c.id for c in find(select(BenchCase), full_name=target)]


def main() -> None:
    """Run the three parts and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=20_000)
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
            new_data_key("warm-up")  # verifies the keyring once, as the first request would
            db.session.rollback()
            table = field_rows(args.calls)
            target = "آمِنَة بنت سالم الكيلاني"
            t0 = time.perf_counter()
            populate(args.records, target)
            fill = time.perf_counter() - t0
            t0 = time.perf_counter()
            scanned = scan("امنه بنت سالم الكيلاني")
            t_scan = time.perf_counter() - t0
            best = min(_timed(lambda: indexed("امنه بنت سالم الكيلاني")) for _ in range(20))
            hits = indexed("امنه بنت سالم الكيلاني")
            candidates = len(rotation_candidates(target))
            assert hits == scanned and len(hits) == 1
            t0 = time.perf_counter()
            plan = rotation.plan_rotation(Path(app.instance_path), "testing")
            bad = rotation.rewrap_all(plan.version, 1000)
            t_rotate = time.perf_counter() - t0
            t0 = time.perf_counter()
            ok, failed = rotation.verify_all(1000)
            t_verify = time.perf_counter() - t0
            assert not bad and not failed and ok >= args.records
        _print(table, args, fill, t_scan, best, candidates, plan.stale, t_rotate, t_verify)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def rotation_candidates(target: str) -> list[uuid.UUID]:
    """How many records the blind index returns for ``target`` before confirmation."""
    from app.crypto.blind_index import candidate_ids

    return candidate_ids(PERSON_NAME, target, "bench_cases")


def _print(table: list[tuple[str, float, str]], args: argparse.Namespace, fill: float,
           t_scan: float, best: float, candidates: int, stale: int, t_rotate: float,
           t_verify: float) -> None:
    print(f"\nPer field ({args.calls:,} calls, best of 5; value: a {len(NAME.encode())}-byte "
          "Arabic name)")
    print(f"  {'operation':<48} {'us/value':>9}  {'vs bare (cached / per call)':>28}")
    for label, micros, ratio in table:
        shown = "-" if micros != micros else f"{micros:.2f}"  # NaN: not measured
        print(f"  {label:<48} {shown:>9}  {ratio:>28}")
    print(f"\nExact-name search among {args.records:,} records (SQLite; {fill:.1f} s to create)")
    print(f"  {'method':<48} {'time':>11}  {'speed-up':>9}")
    print(f"  {'decrypt-and-scan (unwrap + open every name)':<48} {t_scan * 1000:>8.1f} ms  "
          f"{'1x':>9}")
    print(f"  {'blind index + confirm (best of 20)':<48} {best * 1000:>8.2f} ms  "
          f"{t_scan / best:>8.0f}x")
    print(f"  candidates returned by the 16-bit index: {candidates} (1 true match)")
    print(f"\nKey rotation ({stale:,} data keys, batches of 1,000)")
    print(f"  {'re-wrap under the new KEK version':<48} {t_rotate:>8.1f} s")
    print(f"  {'verify that every data key opens':<48} {t_verify:>8.1f} s")


if __name__ == "__main__":
    main()
