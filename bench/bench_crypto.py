"""Field-level encryption benchmark: prints one table, asserts nothing.

1. Sealing one field (a ~30-byte Arabic name) and opening it: Amana's ``seal_value`` /
   ``open_value`` (through the record's ``Sealer``, as the model attributes call them; and with
   ids only, a sealer made per call), ``seal_bytes`` / ``open_bytes`` (bytes in and out, as the
   bare call) and the model attribute, against AES-GCM with a prebuilt cipher and the same
   associated data: the bare call, and the bare stored form (the nonce kept with the
   ciphertext, and split off again to open), which the 1.5x target is measured against. Also
   the cipher built per call, and sqlalchemy-utils' ``StringEncryptedType`` with
   ``AesGcmEngine`` (install it in the venv to include it; it is not a dependency of Amana).
   Every side is the best of the same number of runs, interleaved.
2. Exact-name search among N records (default 100,000): blind index + confirmation against
   decrypt-and-scan (one query joining the data keys, then unwrap and open every name), each
   the best of the same number of runs, alternating.
3. Rotating the N data keys to a new KEK version, then verifying that every one opens.

Runs on a throw-away SQLite database and instance folder in a temporary directory:
    .venv/bin/python bench/bench_crypto.py [--records 100000] [--calls 20000] [--rounds 7]
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
from app.crypto.blind_index import PERSON_NAME  # noqa: E402
from app.crypto.envelope import forget_unwrapped, new_data_key, wrap_context  # noqa: E402
from app.crypto.fields import SealedLongText, SealedRecord, SealedText  # noqa: E402
from app.crypto.keyring import keyring  # noqa: E402
from app.crypto.models import BlindIndexEntry, DataKey  # noqa: E402
from app.crypto.normalise import normalise_text  # noqa: E402
from app.crypto.sealed import (  # noqa: E402
    FORMAT,
    TEXT,
    aad,
    open_bytes,
    open_value,
    seal_bytes,
    seal_value,
    sealer_of,
)
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


def best_per_call(fns: dict[str, Callable[[], object]], n: int, rounds: int) -> dict[str, float]:
    """Best time per call in microseconds of each function over ``rounds`` runs of ``n`` calls.

    The runs are interleaved (one run of each function per round), so a busy machine slows
    every side alike and each side gets the same number of runs.
    """
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for label, fn in fns.items():
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[label] = min(best[label], time.perf_counter() - start)
    return {label: t / n * 1e6 for label, t in best.items()}


# Rows of the per-field table: (label, side: "seal" or "open", what it is compared with).
# "bare" is AES-GCM with a prebuilt cipher, the same plaintext bytes and associated data built
# once: the primitive call alone, and the least any code storing the result must do (keep the
# nonce with the ciphertext; split it off again to open).
BARE_CALL, BARE_STORED = "bare call", "bare stored"


def field_rows(n: int, rounds: int) -> list[tuple[str, float, str, str]]:
    """Seal/open timings (microseconds per value) with the ratios to the bare calls."""
    rec = BenchCase()
    rid, kid = rec.id, rec.data_key_id
    sealer = sealer_of(rec, "bench_cases")
    cipher_ = AESGCM(os.urandom(32))
    where = FORMAT + aad("bench_cases", "full_name", rid, kid, 1, b"full_name")
    plain = TEXT.encode(NAME)
    first = os.urandom(12)
    stored = first + cipher_.encrypt(first, plain, where)  # the least a stored value holds
    nonce, body = stored[:12], stored[12:]
    key = os.urandom(32)
    built = AESGCM(key).encrypt(nonce, plain, where)
    blob = seal_value(TEXT, NAME, "full_name", 1, b"full_name", sealer)

    def bare_stored_seal() -> bytes:
        fresh = os.urandom(12)
        return fresh + cipher_.encrypt(fresh, plain, where)

    def attr_set() -> None:
        rec.notes = NAME

    seal_side: dict[str, Callable[[], object]] = {
        BARE_CALL: lambda: cipher_.encrypt(os.urandom(12), plain, where),
        BARE_STORED: bare_stored_seal,
        "built": lambda: AESGCM(key).encrypt(os.urandom(12), plain, where),
        # Called as the model attributes call them: positional with the record's sealer.
        "seal_bytes": lambda: seal_bytes(plain, "full_name", 1, b"full_name", sealer),
        "seal_value": lambda: seal_value(TEXT, NAME, "full_name", 1, b"full_name", sealer),
        "seal_value, no sealer": lambda: seal_value(
            TEXT, NAME, table="bench_cases", field="full_name", record_id=rid,
            data_key_id=kid, version=1, present=b"full_name"),
        "attribute write": attr_set,
    }
    open_side: dict[str, Callable[[], object]] = {
        BARE_CALL: lambda: cipher_.decrypt(nonce, body, where),
        BARE_STORED: lambda: cipher_.decrypt(stored[:12], stored[12:], where),
        "built": lambda: AESGCM(key).decrypt(nonce, built, where),
        "open_bytes": lambda: open_bytes(blob, "full_name", 1, b"full_name", sealer),
        "open_value": lambda: open_value(TEXT, blob, "full_name", 1, b"full_name", sealer),
        "open_value, no sealer": lambda: open_value(
            TEXT, blob, table="bench_cases", field="full_name", record_id=rid,
            data_key_id=kid, version=1, present=b"full_name"),
        "attribute read": lambda: (rec.__dict__.pop("_amana_plain", None), rec.notes),
    }
    sealing = best_per_call(seal_side, n, rounds)
    opening = best_per_call(open_side, n, rounds)
    labels = {
        "seal": [(BARE_CALL, "bare: aesgcm.encrypt(urandom(12), ...)"),
                 (BARE_STORED, "bare: nonce + aesgcm.encrypt(nonce, ...)"),
                 ("built", "bare: AESGCM(key).encrypt(...) per call"),
                 ("seal_bytes", "Amana seal_bytes (record's sealer)"),
                 ("seal_value", "Amana seal_value (record's sealer)"),
                 ("seal_value, no sealer", "Amana seal_value (ids, sealer per call)"),
                 ("attribute write", "Amana model attribute write")],
        "open": [(BARE_CALL, "bare: aesgcm.decrypt(nonce, ct, ...)"),
                 (BARE_STORED, "bare: aesgcm.decrypt(blob[:12], blob[12:], ...)"),
                 ("built", "bare: AESGCM(key).decrypt(...) per call"),
                 ("open_bytes", "Amana open_bytes (record's sealer)"),
                 ("open_value", "Amana open_value (record's sealer)"),
                 ("open_value, no sealer", "Amana open_value (ids, sealer per call)"),
                 ("attribute read", "Amana model attribute read (uncached)")],
    }
    rows: list[tuple[str, float, str, str]] = []
    for side, times in (("seal", sealing), ("open", opening)):
        for key_, label in labels[side]:
            micros = times[key_]
            if key_ in (BARE_CALL, BARE_STORED, "built"):
                rows.append((label, micros, "", ""))
                continue
            rows.append((label, micros, f"{micros / times[BARE_CALL]:.2f}x",
                         f"{micros / times[BARE_STORED]:.2f}x"))
    try:
        from sqlalchemy import Unicode
        from sqlalchemy_utils import StringEncryptedType
        from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine
    except ImportError:
        rows.append(("sqlalchemy-utils StringEncryptedType", float("nan"), "not installed", ""))
        return rows
    col = StringEncryptedType(Unicode, os.urandom(32).hex(), AesGcmEngine)
    dialect = db.engine.dialect
    saved = col.process_bind_param(NAME, dialect)
    su = best_per_call({"seal": lambda: col.process_bind_param(NAME, dialect),
                        "open": lambda: col.process_result_value(saved, dialect)}, n, rounds)
    rows += [("sqlalchemy-utils AesGcmEngine encrypt (no AAD)", su["seal"],
              f"{su['seal'] / sealing[BARE_CALL]:.2f}x", f"{su['seal'] / sealing[BARE_STORED]:.2f}x"),
             ("sqlalchemy-utils AesGcmEngine decrypt (no AAD)", su["open"],
              f"{su['open'] / opening[BARE_CALL]:.2f}x", f"{su['open'] / opening[BARE_STORED]:.2f}x")]
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
    forget_unwrapped()
    return [c.id for c in find(select(BenchCase), full_name=target)]


def main() -> None:
    """Run the three parts and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=250,
                        help="runs of --calls per field operation (best kept, interleaved; "
                        "short runs, so that some finish unpreempted on a busy machine)")
    parser.add_argument("--runs", type=int, default=5,
                        help="runs of each search method (best kept, interleaved)")
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
            table = field_rows(args.calls, args.rounds)
            target = "آمِنَة بنت سالم الكيلاني"
            t0 = time.perf_counter()
            populate(args.records, target)
            fill = time.perf_counter() - t0
            scanned = scan("امنه بنت سالم الكيلاني")
            hits = indexed("امنه بنت سالم الكيلاني")
            t_scan = best = float("inf")
            for _ in range(args.runs):  # the same number of runs each, alternating
                t_scan = min(t_scan, _timed(lambda: scan("امنه بنت سالم الكيلاني")))
                best = min(best, _timed(lambda: indexed("امنه بنت سالم الكيلاني")))
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


def _print(table: list[tuple[str, float, str, str]], args: argparse.Namespace, fill: float,
           t_scan: float, best: float, candidates: int, stale: int, t_rotate: float,
           t_verify: float) -> None:
    print(f"\nPer field ({args.calls:,} calls, best of {args.rounds} interleaved runs each; value: "
          f"a {len(NAME.encode())}-byte Arabic name; target: within 1.5x of the bare stored form)")
    print(f"  {'operation':<52} {'us/value':>9}  {'vs bare call':>12}  {'vs bare stored':>14}")
    for label, micros, call, stored in table:
        shown = "-" if micros != micros else f"{micros:.2f}"  # NaN: not measured
        print(f"  {label:<52} {shown:>9}  {call:>12}  {stored:>14}")
    print(f"\nExact-name search among {args.records:,} records (SQLite; {fill:.1f} s to create; "
          f"best of {args.runs} runs each, alternating)")
    print(f"  {'method':<52} {'time':>11}  {'speed-up':>9}")
    print(f"  {'decrypt-and-scan (unwrap + open every name)':<52} {t_scan * 1000:>8.1f} ms  "
          f"{'1x':>9}")
    print(f"  {'blind index + confirm':<52} {best * 1000:>8.2f} ms  {t_scan / best:>8.0f}x")
    print(f"  candidates returned by the 16-bit index: {candidates} (1 true match)")
    print(f"\nKey rotation ({stale:,} data keys, batches of 1,000)")
    print(f"  {'re-wrap under the new KEK version':<52} {t_rotate:>8.1f} s")
    print(f"  {'verify that every data key opens':<52} {t_verify:>8.1f} s")


if __name__ == "__main__":
    main()
