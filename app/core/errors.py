"""Errors shared across features. Their messages are safe to show to the user."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.versioning import Stale


class CaseError(ValueError):
    """A refused action on a case or on a record that hangs off one (a referral, a note); the
    message is safe to show."""


class StaleError(CaseError, Stale):
    """Someone else saved the record since this form was loaded (``app.core.versioning``)."""

    message = _l("Someone else saved this case while you were editing. Nothing was saved; your "
                 "input is kept below: check the current record, then save again.")
