"""Reads of the shared directory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.db import db
from app.directory.models import Organisation, SafeSpace, Service, Site


def all_of(model: type) -> list[Any]:
    """Every record of a directory model, by name."""
    return list(db.session.execute(select(model).order_by(model.name)).scalars())  # type: ignore[attr-defined]


def everything() -> dict[str, list[Any]]:
    """Every directory record, by kind (the directory page lists them all)."""
    return {"organisations": all_of(Organisation), "sites": all_of(Site),
            "safe_spaces": all_of(SafeSpace), "services": all_of(Service)}
