"""Proof at rest: canary values written through sealed fields appear nowhere in the raw
database (the SQLite file and its WAL, or a pg_dump), nor in the audit trail."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.crypto.blind_index import PERSON_NAME, set_index_values
from app.crypto.normalise import normalise_phone, normalise_text
from app.db import db
from tests.helpers.apps import BACKEND
from tests.helpers.crypto import Specimen, sqlite_bytes, with_tables

TAG = uuid.uuid4().hex[:8]
CANARIES = {
    "full_name": f"Zainab Canary{TAG}",
    "narrative": f"She said the canary-{TAG} story happened near the camp gate",
    "arabic": f"زينب الكناري {TAG}",
    "phone": "+218 91 777 " + "".join(str(int(c, 16) % 10) for c in TAG[:4]),
}


@pytest.fixture
def sapp(app):
    return with_tables(app)


def _needles() -> list[bytes]:
    out = set()
    for value in CANARIES.values():
        for form in (value, value.casefold(), normalise_text(value), normalise_phone(value)):
            if len(form) >= 8:
                out.update({form.encode("utf-8"), form.encode("utf-16-le")})
    out.add(TAG.encode())
    return sorted(out)


def _write(app) -> tuple[uuid.UUID, uuid.UUID]:
    with app.app_context():
        a = Specimen(full_name=CANARIES["full_name"], phone=CANARIES["phone"],
                     narrative=CANARIES["narrative"], date_of_birth=date(1999, 9, 9))
        b = Specimen(full_name=CANARIES["full_name"], narrative=CANARIES["arabic"])
        db.session.add_all([a, b])
        set_index_values(PERSON_NAME,
                         [CANARIES["arabic"]], owner_table="specimens", owner_id=b.id,
                         field_name="alias", data_key_id=b.data_key_id)
        db.session.commit()
        # Same name, two records: nothing in common in the stored form.
        ra, rb = a.full_name_sealed, b.full_name_sealed
        assert ra != rb and ra[1:13] != rb[1:13] and ra[13:] != rb[13:]
        return a.id, b.id


def _read_back(app, ids) -> None:
    with app.app_context():
        names = [db.session.get(Specimen, i).full_name for i in ids]
    assert names == [CANARIES["full_name"]] * 2  # the data is there, just not readable raw


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite file bytes")
def test_canaries_absent_from_sqlite_file(sapp, tmp_path):
    ids = _write(sapp)
    _read_back(sapp, ids)
    data = sqlite_bytes(sapp)  # the file, its WAL, and the file again after the checkpoint
    assert b"specimens" in data  # sanity: this is the right file
    assert [n for n in _needles() if n in data] == []


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump of the PostgreSQL test database")
def test_canaries_absent_from_pg_dump(sapp):
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed for the PostgreSQL proof at rest")
    ids = _write(sapp)
    _read_back(sapp, ids)
    url = sa.make_url(sapp.config["SQLALCHEMY_DATABASE_URI"])
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                           "-U", url.username or "postgres", url.database],
                          capture_output=True, check=True, timeout=120).stdout
    assert b"COPY public.specimens" in dump and b"COPY public.data_keys" in dump
    assert [n for n in _needles() if n in dump] == []


def test_canaries_absent_from_audit_trail(sapp):
    from app.audit.models import AuditEvent

    _write(sapp)
    with sapp.app_context():
        rows = db.session.execute(select(AuditEvent)).scalars().all()
        text = " ".join(str(getattr(e, c.name)) for e in rows for c in AuditEvent.__table__.columns)
    assert TAG not in text


def _renamed_twice(app, world) -> None:
    """A case named with the canary, then renamed: the canary lives on only as a previous value
    in the case's change history (``app.cases.history``)."""
    from app.auth.models import User
    from app.cases import service
    from app.cases.history import CaseChange
    from app.cases.models import Case

    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        for name in (CANARIES["full_name"], "Renamed Person"):
            case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
            service.update_identity(user, case, service.IdentityInput(
                full_name=name, phone=CANARIES["phone"] if name != "Renamed Person" else None,
                sex="female", nationality_group="national", displacement_status="idp",
                disability="no", estimated_age=30), case.version)
        changes = db.session.execute(select(CaseChange)).scalars().all()
        assert CANARIES["full_name"] in changes[-1].previous  # kept, sealed


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite file bytes")
def test_previous_values_in_the_change_history_are_absent_from_sqlite_file(app, world):
    _renamed_twice(app, world)
    with app.app_context():
        path = Path(sa.make_url(str(db.engine.url)).database)
        db.session.remove()
        db.engine.dispose()
    data = path.read_bytes()
    assert b"case_changes" in data
    needles = [n for n in _needles() if n in data]
    assert needles == []


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump of the PostgreSQL test database")
def test_previous_values_in_the_change_history_are_absent_from_pg_dump(app, world):
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed for the PostgreSQL proof at rest")
    _renamed_twice(app, world)
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                           "-U", url.username or "postgres", url.database],
                          capture_output=True, check=True, timeout=120).stdout
    assert b"COPY public.case_changes" in dump
    assert [n for n in _needles() if n in dump] == []


# --- Attached files (app/attachments): their bytes, original names and descriptions ---------

FILE_CANARIES = {
    "pdf": f"PdfBodyCanary-{TAG}".encode(),
    "name": f"Zainab-Canary{TAG}-consent.pdf",
    "description": f"Signed at the canary-{TAG} clinic",
}


def _attach(app, world) -> None:
    """A PDF with a canary in its body, under a canary name and description, attached to a case
    and shared with a referral (a second sealed copy, under the referral's key)."""
    from app.attachments import service as attachments
    from app.auth.models import User
    from app.cases.models import Case
    from app.db import transaction
    from app.referrals.models import Referral
    from tests.helpers.files import pdf_bytes

    with app.test_request_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        added = attachments.add(user, case, attachments.NewAttachment(
            kind="medical_certificate", data=pdf_bytes(FILE_CANARIES["pdf"]),
            original_name=FILE_CANARIES["name"], description=FILE_CANARIES["description"]))
        referral = db.session.get(Referral, uuid.UUID(world.ids["ref_mhpss"]))
        with transaction():
            attachments.copy_to_referral(referral, case, user, (added.id,))
        assert attachments.content_of(added) == pdf_bytes(FILE_CANARIES["pdf"])  # readable


def _file_needles() -> list[bytes]:
    out = {FILE_CANARIES["pdf"], f"Canary{TAG}".encode(), f"canary-{TAG}".encode()}
    return sorted(out | {n.encode("utf-16-le") for n in (f"Canary{TAG}", f"canary-{TAG}")})


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite file bytes")
def test_attached_files_absent_from_sqlite_file(app, world):
    _attach(app, world)
    data = sqlite_bytes(app)
    assert b"case_attachment_contents" in data  # sanity: this is the right file
    assert [n for n in _file_needles() if n in data] == []


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump of the PostgreSQL test database")
def test_attached_files_absent_from_pg_dump(app, world):
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed for the PostgreSQL proof at rest")
    _attach(app, world)
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                           "-U", url.username or "postgres", url.database],
                          capture_output=True, check=True, timeout=120).stdout
    assert b"COPY public.case_attachment_contents" in dump
    assert [n for n in _file_needles() if n in dump] == []


def test_attached_files_absent_from_audit_trail(app, world):
    from app.audit.models import AuditEvent

    _attach(app, world)
    with app.app_context():
        rows = db.session.execute(select(AuditEvent)).scalars().all()
        text = " ".join(str(getattr(e, c.name)) for e in rows for c in AuditEvent.__table__.columns)
    assert TAG not in text
