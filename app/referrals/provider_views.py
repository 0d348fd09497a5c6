"""What the referral pages show of onward referrals and of the services given: the receiving
service's sections of its referral page, and the sender's (caseworker's) sections of the sent
view. Reads only; the rules are in ``onward`` and ``service_records``."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user

from app.crypto.readable import readable
from app.db import db
from app.referrals import onward, service_records
from app.referrals.models import Referral
from app.referrals.onward_forms import ServiceRecordForm


def received_sections(referral: Referral, record_form: ServiceRecordForm | None = None
                      ) -> dict[str, Any]:
    """The receiving service's sections: its own entries of services given (notes opened), the
    entry form (``record_form`` as sent when refused, else blank with a fresh token), and the
    referrals it made onward from this one (service, status, outcome codes only)."""
    if record_form is None:
        record_form = ServiceRecordForm(formdata=None, context=referral.id)
        if request.method == "POST":
            record_form.issue_token()  # a blank form on a page shown again after a POST
    return {"service_records": readable(service_records.own_records(current_user, referral),
                                        ("notes",)),
            "record_form": record_form, "may_record": service_records.may_record(referral),
            "onward": onward.sent_on(referral), "may_refer_on": onward.may_refer_on(referral),
            "service_given_label": service_records.service_given_label}


def sent_sections(referral: Referral) -> dict[str, Any]:
    """The sender's sections: where the referral came from (an onward one), the referrals made
    onward from it, and the services given (their notes only when they come back,
    ``service_records.notes_come_back``)."""
    notes_back = service_records.notes_come_back(referral)
    entries = service_records.all_records(referral)
    return {"parent": db.session.get(Referral, referral.parent_id) if referral.parent_id else None,
            "onward": onward.sent_on(referral), "notes_back": notes_back,
            "service_records": (readable(entries, ("notes",)) if notes_back
                                else [(e, {}) for e in entries]),
            "service_given_label": service_records.service_given_label}
