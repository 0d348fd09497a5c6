"""The service provider's home panel: the referrals waiting for the service's answer, urgent
first, each with its answer deadline and a link to it. A referral is named as providers name it
(type of service and time sent), never by case number; nothing of the share is read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.clock import utcnow
from app.core import hooks
from app.core.home import Panel
from app.referrals import queries
from app.referrals.labels import urgency_label
from app.referrals.models import Urgency

#: How many new referrals the panel lists (the count, and "Referrals received", show them all).
SHOWN = 10


@dataclass(frozen=True)
class Waiting:
    """A referral waiting for the service's answer, as the panel shows it."""

    id: uuid.UUID
    service_type: str
    urgency: str          # its label
    urgent: bool          # urgent, or for urgent clinical care: listed first, marked
    clinical: bool        # for urgent clinical care (the 72-hour window)
    sent_at: datetime
    respond_by: datetime
    overdue: bool         # the answer's deadline has passed


@hooks.home_panels.subscribe
def provider_panels(user: User) -> list[Panel]:
    """The new referrals of the user's service (no panel for an account that receives none):
    two indexed queries, a count and the first ``SHOWN``."""
    if not queries.receives(user):
        return []
    total = queries.new_count(user)
    now = utcnow()
    rows = [Waiting(r.id, r.service_type, urgency_label(r.urgency),
                    r.urgency == Urgency.URGENT or r.urgent_clinical, r.urgent_clinical,
                    r.sent_at, r.respond_by, r.respond_by < now)
            for r in (queries.new_referrals(user, SHOWN) if total else [])]
    context: dict[str, Any] = {"rows": rows, "total": total, "more": total > len(rows)}
    return [Panel("provider-referrals", _l("New referrals to your service"),
                  "referrals/home_provider.html", context, order=10)]
