"""The opened submission of a field intake, as the online forms read it.

``read(intake)`` opens the sealed payload (``{"fields": {<full field name>: value or list}}``),
builds ``FieldIntakeForms`` from it with the incident's ``reported_date`` set to the capture
date in the organisation's zone, and validates it: ``forms.errors`` then says what a reviewer
must correct before the intake can become a case. Nothing here logs or audits a value.

(Minimal version written by the review work; the sync work ships the same function: the lead
keeps one at merge.)
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import MultiDict

from app.field.forms import INCIDENT, FieldIntakeForms
from app.field.models import FieldIntake
from app.localtime import organisation_zone

REPORTED_DATE = f"{INCIDENT}-reported_date"


def fields_of(intake: FieldIntake) -> MultiDict[str, str]:
    """The submission's fields as a form post would carry them (values as strings)."""
    try:
        opened: Any = json.loads(intake.payload or "{}")
    except ValueError:
        opened = {}
    fields = opened.get("fields") if isinstance(opened, dict) else None
    data: MultiDict[str, str] = MultiDict()
    for name, value in (fields.items() if isinstance(fields, dict) else ()):
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str):
                data.add(str(name), one)
    return data


def with_capture_date(intake: FieldIntake, data: MultiDict[str, str]) -> MultiDict[str, str]:
    """``data`` with the incident's reported date set to the capture date (the server's, in
    the organisation's zone; never what the device sent)."""
    out: MultiDict[str, str] = MultiDict(data)
    captured = intake.captured_at.astimezone(organisation_zone(intake.organisation_id))
    out.setlist(REPORTED_DATE, [captured.date().isoformat()])
    return out


def read(intake: FieldIntake) -> FieldIntakeForms:
    """The intake's forms, filled from its opened payload and validated."""
    forms = FieldIntakeForms(with_capture_date(intake, fields_of(intake)))
    forms.validate()
    return forms
