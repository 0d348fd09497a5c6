"""The encryption tests' shared pieces: a small sealed model (``Specimen``) on its own
metadata, so no test table reaches the app's migrations, and an app with a private instance
folder for the tests that add key files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.crypto.blind_index import PERSON_NAME, PHONE
from app.crypto.fields import SealedDate, SealedInt, SealedLongText, SealedRecord, SealedText
from app.db import UUIDPrimaryKey, Versioned, db
from tests.helpers.apps import make_app


class SpecimenBase(DeclarativeBase):
    """A registry of its own: these tables exist only in the tests' databases."""

    metadata = MetaData()


class Specimen(SealedRecord, UUIDPrimaryKey, Versioned, SpecimenBase):
    """A record with one sealed field of every kind (versioned, as every sealed record is)."""

    __tablename__ = "specimens"

    label: Mapped[str] = mapped_column(String(40), default="")
    full_name = SealedText(max_length=200, index=PERSON_NAME)
    phone = SealedText(max_length=40, index=PHONE)
    date_of_birth = SealedDate()
    narrative = SealedLongText()
    visits = SealedInt()


def create_tables(app: Flask) -> None:
    """Create the specimen table in the app's (per-test) database."""
    with app.app_context():
        SpecimenBase.metadata.create_all(db.engine)


def with_tables(app: Flask) -> Flask:
    """The app, with the specimen table created (body of each module's ``sapp`` fixture)."""
    create_tables(app)
    return app


def copy_instance(instance_dir: Path, tmp_path: Path) -> Path:
    """A copy of the session's instance folder (same keys) that a test may add keys to."""
    target = tmp_path / "inst"
    shutil.copytree(instance_dir, target)
    return target


def private_app(db_uri: str, instance: Path) -> Iterator[Flask]:
    """An app on the per-test database with its own instance folder and the specimen table."""
    application = make_app(db_uri, instance)
    create_tables(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def forbid_decryption(monkeypatch: Any) -> None:
    """Make every decryption in app/crypto raise (a page that opens a sealed value fails)."""
    from app.crypto import envelope, fields, sealed

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("a statistic decrypted a sealed value")

    for module, name in ((sealed, "open_value"), (sealed, "open_bytes"), (fields, "open_value"),
                         (envelope, "unwrap"), (envelope, "_open")):
        monkeypatch.setattr(module, name, boom)


def sqlite_bytes(app: Flask) -> bytes:
    """Every byte the app's SQLite database holds on disk: the file and its WAL and shared
    memory read while connections are open, then the file again after the checkpoint that
    closing them makes (what a thief copying the files would have)."""
    import sqlalchemy as sa

    with app.app_context():
        path = Path(sa.make_url(str(db.engine.url)).database or "")
        data = b""
        for suffix in ("", "-wal", "-shm"):
            f = path.with_name(path.name + suffix)
            if f.exists():
                data += f.read_bytes()
        db.session.remove()
        db.engine.dispose()
    return data + path.read_bytes()
