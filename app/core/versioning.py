"""Optimistic locking in one place: a save that lost a race is refused, never a 500 page.

Editable records carry a version counter (``app.db.Versioned``) that SQLAlchemy checks, and
moves on, with every UPDATE and DELETE of the row. Someone else's save can meet ours twice:

- before anything is written, when the version the form was loaded with is not the record's
  any more (``check_version``);
- at the UPDATE itself, when the other save committed after this request read the record: after
  ``check_version`` passed, or on a row no form version guards (a case whose "last change" a new
  note moves). The UPDATE then matches no row and SQLAlchemy raises ``StaleDataError``.

Both end the same way: nothing is saved (the whole transaction rolls back) and a ``Stale``
error is raised, whose message the page shows above the input it kept. Its ``current_version``
is the record's version now: a form that keeps the input carries it, so that saving again, on
purpose, replaces the other save. Every save of a versioned record therefore runs in
``saving(record, StaleErrorOfItsArea)`` instead of ``app.db.transaction()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from app.db import transaction


class Stale(ValueError):
    """Someone else saved the record since this form was loaded; nothing was saved.

    ``str()`` is the message to show (translated); areas subclass it with their own wording.
    """

    message: ClassVar[Any] = _l("Someone else saved this record while you were editing. Nothing "
                                "was saved; your input is kept below. Check the saved version, "
                                "then save again to replace it.")

    def __init__(self, current_version: int | None = None) -> None:
        super().__init__(str(self.message))
        self.current_version = current_version


def version_of(record: Any) -> int | None:
    """The record's version as the database holds it now (None for a new or deleted record).

    Call it after the transaction rolled back: the record's attributes are expired then, so
    this reads the row again.
    """
    if record is None:
        return None
    state = inspect(record)
    if state.transient or state.pending or state.detached:
        return None
    try:
        return int(record.version)
    except ObjectDeletedError:
        return None


def check_version(record: Any, expected: Any, error: type[Stale] = Stale) -> None:
    """Refuse a save based on an old copy of ``record`` (``expected``: the form's version)."""
    try:
        ok = int(expected) == record.version
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise error(record.version)


@contextmanager
def saving(record: Any, error: type[Stale] = Stale) -> Iterator[Session]:
    """``transaction()`` for a save of ``record`` (None when it is being created): when another
    save of any row it writes committed first, roll back and raise ``error`` instead of
    ``StaleDataError``."""
    try:
        with transaction() as session:
            yield session
    except StaleDataError:
        raise error(version_of(record)) from None
