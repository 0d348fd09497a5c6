"""Pending field intakes: the list, search before create, and opening or merging a case (on
``app.field.routes.bp``)."""

from __future__ import annotations

from app.field.routes import bp  # noqa: F401  (routes are added to it)
