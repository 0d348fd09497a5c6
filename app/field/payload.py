"""An opened field submission: its fields, and the forms that check them.

The plaintext of an envelope is UTF-8 JSON ``{"fields": {"<full field name>": "<text>" |
["<text>", ...]}}``: what the shell's form would post. ``parse`` checks that shape (anything
else is refused at upload as ``malformed``); ``forms_for`` builds the online forms from it
(``FieldIntakeForms``) with the report date set to the capture date in the organisation's zone;
``read`` does both for a stored intake and validates, so the reviewer sees every problem
beside its field (``.errors``). A submission whose fields fail validation is kept all the same:
nothing that left the device is lost, and the caseworker completes it at review.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from app.field.forms import INCIDENT, FieldIntakeForms
from app.field.models import PAYLOAD_MAX, FieldIntake
from app.localtime import organisation_zone

#: At most this many fields, and values for one field (the form has about a hundred).
MAX_FIELDS = 400
MAX_VALUES = 50
NAME_MAX = 100
REPORTED_DATE = f"{INCIDENT}-reported_date"


class PayloadError(ValueError):
    """A plaintext that is not a field submission (the message names no value)."""


def parse(text: str) -> MultiDict[str, str]:
    """The fields of a submission's JSON text, lists kept as repeated values. Raises
    ``PayloadError`` when the text is not ``{"fields": {name: text | [text, ...]}}`` within
    the limits."""
    if len(text) > PAYLOAD_MAX:
        raise PayloadError("too long")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise PayloadError("not JSON") from None
    fields = doc.get("fields") if isinstance(doc, dict) else None
    if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
        raise PayloadError("no fields")
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if not name or len(name) > NAME_MAX:
            raise PayloadError("bad name")
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_VALUES or not all(isinstance(v, str) for v in values):
            raise PayloadError("bad value")
        pairs.extend((name, v) for v in values)
    return MultiDict(pairs)


def capture_date(captured_at: datetime, organisation_id: Any) -> str:
    """The capture's date in the organisation's zone (ISO), the incident's report date."""
    return captured_at.astimezone(organisation_zone(organisation_id)).date().isoformat()


def dated(fields: MultiDict[str, str], captured_at: datetime,
          organisation_id: Any) -> MultiDict[str, str]:
    """A copy of ``fields`` whose report date is the capture date (whatever the device sent)."""
    data: MultiDict[str, str] = MultiDict(fields)
    data.setlist(REPORTED_DATE, [capture_date(captured_at, organisation_id)])
    return data


def forms_for(fields: MultiDict[str, str], captured_at: datetime,
              organisation_id: Any) -> FieldIntakeForms:
    """The forms filled with ``fields``, the report date being the capture date. Not
    validated."""
    return FieldIntakeForms(dated(fields, captured_at, organisation_id))


def fields_of(intake: FieldIntake) -> MultiDict[str, str]:
    """The intake's opened fields as a form post carries them. Opening the payload raises
    ``DecryptionError``/``KeyDestroyedError`` (audited) when it does not open, as every sealed
    value does; a payload kept was parsed when it was received."""
    return parse(intake.payload or "")


def with_capture_date(intake: FieldIntake, data: MultiDict[str, str]) -> MultiDict[str, str]:
    """``data`` (the review form's post, say) with the intake's capture date as report date."""
    return dated(data, intake.captured_at, intake.organisation_id)


def read(intake: FieldIntake) -> FieldIntakeForms:
    """The intake's opened submission as validated forms (``.errors`` by full field name)."""
    forms = forms_for(fields_of(intake), intake.captured_at, intake.organisation_id)
    forms.validate()
    return forms
