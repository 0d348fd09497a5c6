"""Reads of the shared directory."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select

from app.db import db
from app.directory.models import Organisation, SafeSpace, Service, Site

# A directory model: each has a name (a constrained TypeVar, so each is checked on its own).
Listed = TypeVar("Listed", Organisation, Site, SafeSpace, Service)
# One that belongs to an organisation.
Scoped = TypeVar("Scoped", Site, SafeSpace, Service)


def all_of(model: type[Listed]) -> list[Listed]:
    """Every record of a directory model, by name."""
    return list(db.session.execute(select(model).order_by(model.name)).scalars())


def everything() -> dict[str, list[Any]]:
    """Every directory record, by kind (the directory page lists them all)."""
    return {"organisations": all_of(Organisation), "sites": all_of(Site),
            "safe_spaces": all_of(SafeSpace), "services": all_of(Service)}
