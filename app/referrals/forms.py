"""Forms for referrals."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from app.audit.actions import Action
from app.cases import justifications
from app.cases.forms import justification_fields_ok
from app.core.text import TEXT_MAX
from app.forms import LongText, OneTimeSubmission

URGENCY_CHOICES = [("normal", _l("Normal")), ("high", _l("High")), ("urgent", _l("Urgent"))]


class ReferralForm(OneTimeSubmission):
    """Make a referral: service, urgency, fields beyond the minimum, message (with a one-time
    token bound to the case: a retried send shows the referral already sent)."""

    submission_kind = Action.REFERRAL_CREATE

    service = SelectField(_l("Service"), validators=[DataRequired()])
    urgency = SelectField(_l("Urgency"), choices=URGENCY_CHOICES)
    fields = SelectMultipleField(_l("Also share (only what the survivor agreed to)"),
                                 validators=[Optional()])
    message = LongText(_l("Message to the service (sealed)"), validators=[Optional(), Length(max=TEXT_MAX)])
    override_code = SelectField(_l("Supervisor override: why refer without consent"),
                                choices=justifications.choices(justifications.OVERRIDE_REASONS),
                                validators=[Optional()])
    override_reason = LongText(
        _l("Override explanation (required with “Other”; no names or phone numbers)"),
        validators=[Optional(), Length(max=justifications.TEXT_MAX)])
    submit = SubmitField(_l("Send referral"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = bool(super().validate(extra_validators))
        if ok and (self.override_code.data or self.override_reason.data):
            # Text without a code is refused too: it would otherwise be silently dropped.
            return justification_fields_ok(self, self.override_code, self.override_reason,
                                           justifications.OVERRIDE_REASONS)
        return ok


class AnswerForm(FlaskForm):
    """The recipient's answer; a note is required to decline and kept with the case."""

    note = LongText(_l("Note (a reason to decline, or the outcome)"),
                    validators=[Optional(), Length(max=TEXT_MAX)])
    version = HiddenField()
    submit = SubmitField(_l("Confirm"))


class RevokeForm(FlaskForm):
    """Revoke a referral."""

    reason = SelectField(_l("Reason"), choices=[
        ("no_longer_needed", _l("No longer needed")), ("sent_in_error", _l("Sent in error")),
        ("survivor_request", _l("The survivor asked")), ("safety", _l("Safety concern"))])
    submit = SubmitField(_l("Revoke and destroy the share"))
