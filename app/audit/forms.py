"""Forms of the auditor's workspace.

Filters travel in the query string (GET): they hold ids, codes and times only, never survivor
data. To keep it so, a record id must look like an id (a UUID, or a code with a digit or a dot
such as a case number or an endpoint name); free words are refused, so a name typed by mistake
is neither searched for nor written to the trail. A case number finds the events of that case
(which name it by id). Record types are those of ``ObjectType``, the one list of them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, MultipleFileField, SelectField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.labels import ACTION_LABELS, OBJECT_TYPE_LABELS
from app.audit.queries import EventFilter
from app.core.ids import parse_uuid
from app.forms import CleanStringField
from app.localtime import from_local, user_zone, zone_shown

_CODE = re.compile(r"^(?=.*[0-9.])[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
OUTCOME_LABELS = {Outcome.ALLOWED.value: _l("Allowed"), Outcome.DENIED.value: _l("Denied"),
                  Outcome.ERROR.value: _l("Error")}


_OBJECT_TYPES = {t.value: t for t in ObjectType}


def known_object_type(text: str | None) -> ObjectType | None:
    """``text`` as a record type named in events, or None if ``ObjectType`` does not know it."""
    return _OBJECT_TYPES.get(text or "")


def record_id(text: str | None) -> str | None:
    """``text`` as a record id (UUIDs in their stored form), or None if it is not one."""
    if not text:
        return None
    found = parse_uuid(text)
    if found is not None:
        return str(found)
    return text if _CODE.match(text) else None


class FilterForm(FlaskForm):
    """Narrow the trail (GET; the paging keys ride along)."""

    class Meta:
        csrf = False  # a read in the query string; the export POST is CSRF-checked app-wide

    actor = CleanStringField(_l("Account (id or username)"), validators=[Optional(), Length(max=64)])
    object_type = SelectField(_l("Record type"), validators=[Optional()],
                              choices=[("", _l("Any"))]
                              + [(t.value, OBJECT_TYPE_LABELS[t]) for t in ObjectType])
    object_id = CleanStringField(_l("Record id"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("Action"), validators=[Optional()],
                         choices=[("", _l("Any"))] + [(a.value, ACTION_LABELS[a]) for a in Action])
    outcome = SelectField(_l("Outcome"), validators=[Optional()],
                          choices=[("", _l("Any"))] + list(OUTCOME_LABELS.items()))
    # Times are typed in the auditor's organisation's zone, as the table shows them (the labels
    # name it, see ``__init__``); the filter compares them in UTC.
    since = DateTimeLocalField(_l("From"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    until = DateTimeLocalField(_l("Before"), format="%Y-%m-%dT%H:%M",
                               validators=[Optional()])
    # The paging keys (``before``/``after``) ride along in the same query string; they are
    # read and bounded by ``app.forms.KeysetForm``, so a bad key never empties the filter.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = zone_shown()
        self.since.label.text = _("From (%(zone)s)", zone=zone)
        self.until.label.text = _("Before (%(zone)s)", zone=zone)

    def validate_object_id(self, field: CleanStringField) -> None:
        """Only ids and codes (see the module docstring)."""
        if field.data and record_id(field.data) is None:
            raise ValidationError(_l("Enter a record id: a UUID, or a code such as a case number."))

    def to_filter(self, actor_id: uuid.UUID | None, same_as: tuple[str, ...] = ()) -> EventFilter:
        """The validated filter (``actor_id`` resolved from the actor field, ``same_as`` the ids
        the record id also stands for, e.g. the case of a case number)."""
        return EventFilter(
            actor_id=actor_id, object_type=self.object_type.data or None,
            object_id=record_id(self.object_id.data), same_as=same_as,
            action=self.action.data or None,
            outcome=self.outcome.data or None,
            since=from_local(self.since.data, user_zone()) if self.since.data else None,
            until=from_local(self.until.data, user_zone()) if self.until.data else None,
        )

    def query_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for paging links and the export form)."""
        values = {"actor": self.actor.data, "object_type": self.object_type.data,
                  "object_id": self.object_id.data, "action": self.action.data,
                  "outcome": self.outcome.data,
                  "since": self.since.data.strftime("%Y-%m-%dT%H:%M") if self.since.data else None,
                  "until": self.until.data.strftime("%Y-%m-%dT%H:%M") if self.until.data else None}
        return {k: v for k, v in values.items() if v}


class VerifyForm(FlaskForm):
    """Run verification, optionally against signed checkpoints."""

    checkpoints = MultipleFileField(_l("Signed checkpoints (optional)"))
    submit = SubmitField(_l("Verify the audit trail"))
