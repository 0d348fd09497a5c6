"""Refused referral steps (``app.referrals.service`` raises them; forms put their message
beside the field they name)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.core.errors import CaseError
from app.core.versioning import Stale


class ReferralError(CaseError):
    """A refused referral step (message safe to show); ``field``, when set, names the form
    field the message belongs beside (``beside``)."""

    field: str | None = None


def beside(field: str, message: Any) -> ReferralError:
    """A refusal whose message belongs beside the form field ``field``."""
    error = ReferralError(str(message))
    error.field = field
    return error


class FieldsOutsideConsent(ReferralError):
    """Fields chosen that the survivor's consent for the service's type does not cover;
    ``codes`` names them (codes of ``fields.OPTIONAL``)."""

    field = "fields"

    def __init__(self, message: Any, codes: tuple[str, ...]) -> None:
        super().__init__(str(message))
        self.codes = codes


class ReferralStale(ReferralError, Stale):
    """Someone else changed the referral first (``app.core.versioning``); nothing was saved."""

    message = _l("Someone else changed this referral meanwhile. Nothing was saved: check its "
                 "status, then try again.")
