"""Forms for referrals. Each builds the typed command its service takes (``command()``) once
it has validated; the service checks every value again."""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, SubmitField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from app.audit.actions import Action
from app.cases import justifications
from app.cases.forms import justification_fields_ok
from app.cases.labels import CHOOSE
from app.core.ids import parse_uuid
from app.core.text import TEXT_MAX
from app.forms import LongText, OneTimeSubmission
from app.referrals.labels import (
    NOT_PROVIDED_CHOICES,
    OUTCOME_CHOICES,
    REVOKE_CHOICES,
    URGENCY_CHOICES,
)
from app.referrals.models import RevokeReason, Urgency
from app.referrals.service import AnswerOp, NewReferral, ReferralAnswer


class ReferralForm(OneTimeSubmission):
    """Make a referral: service, urgency, fields beyond the minimum, message (with a one-time
    token bound to the case: a retried send shows the referral already sent).

    The view offers the fields the consent allows for the chosen service's type
    (``service.offers``); without JavaScript, "Show what can be shared" (``choose``) sends the
    form back to show them for the service chosen, and sends nothing. A field outside the
    offer is not refused here but by the service, with its message and an audit event.
    """

    submission_kind = Action.REFERRAL_CREATE

    service = SelectField(_l("Service"), validators=[DataRequired()])
    choose = SubmitField(_l("Show what can be shared"))
    # Nothing chosen for the caseworker: "Choose…" first, and an answer required.
    urgency = SelectField(_l("Urgency"), choices=[("", CHOOSE), *URGENCY_CHOICES],
                          validators=[DataRequired(message=_l("Answer this question."))])
    fields = SelectMultipleField(_l("Also share (only what the survivor agreed to)"),
                                 validators=[Optional()], validate_choice=False)
    # The case's files, offered only when the consent covers attached files (the view sets the
    # choices from ``hooks.referral_shareables``; the service checks the consent again).
    attachments = SelectMultipleField(_l("Also share these attached files"),
                                      validators=[Optional()], validate_choice=False,
                                      widget=ListWidget(prefix_label=False),
                                      option_widget=CheckboxInput())
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

    def chosen_service_id(self) -> uuid.UUID | None:
        """The service chosen (None when none is, or the value is not an id)."""
        return parse_uuid(self.service.data)

    def command(self) -> NewReferral:
        """The referral asked for (call after ``validate``)."""
        service_id = self.chosen_service_id()
        assert service_id is not None  # DataRequired and the choices
        return NewReferral(
            service_id=service_id, urgency=Urgency(self.urgency.data or Urgency.NORMAL),
            fields=tuple(self.fields.data or ()), message=self.message.data,
            override_code=self.override_code.data or None,
            override_text=self.override_reason.data,
            attachments=tuple(i for i in (parse_uuid(v) for v in self.attachments.data or ())
                              if i is not None))


class AnswerForm(FlaskForm):
    """The recipient's answer; a note is required to decline and kept with the case.

    Completing also takes the outcome (a code; the service refuses a completion without one)
    and a tick in ``confirm``: completing closes the referral for good, so a press of the
    wrong button, a double click or an Enter key must not do it (``confirmed``). Codes are not
    checked against the choices here but by the service, so its message is the one shown.
    """

    note = LongText(_l("Note (a reason to decline, or the outcome)"),
                    validators=[Optional(), Length(max=TEXT_MAX)])
    outcome = SelectField(_l("Outcome: was the service provided?"),
                          choices=[("", _l("Choose…")), *OUTCOME_CHOICES],
                          validators=[Optional()], validate_choice=False)
    outcome_reason = SelectField(_l("If not fully provided: why"),
                                 choices=[("", _l("Choose…")), *NOT_PROVIDED_CHOICES],
                                 validators=[Optional()], validate_choice=False)
    confirm = BooleanField(_l("I have checked the outcome: complete this referral now (it cannot "
                              "be undone)"))
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    submit = SubmitField(_l("Confirm"))

    def confirmed(self, op: AnswerOp) -> bool:
        """Whether the answer is confirmed as its step needs: completing needs the tick (the
        message goes beside it); accepting and declining show their result at once."""
        if op is AnswerOp.COMPLETE and not self.confirm.data:
            self.confirm.errors = [str(_l("Tick the box to confirm: completing closes the "
                                          "referral."))]
            return False
        return True

    def command(self, op: AnswerOp) -> ReferralAnswer:
        """The answer given (call after ``validate``)."""
        return ReferralAnswer(op=op, note=self.note.data, version=self.version.data,
                              outcome=self.outcome.data or None,
                              outcome_reason=self.outcome_reason.data or None)


class RevokeForm(FlaskForm):
    """Revoke a referral."""

    reason = SelectField(_l("Reason"), choices=REVOKE_CHOICES)
    submit = SubmitField(_l("Revoke and destroy the share"))

    def command(self) -> RevokeReason:
        """The reason chosen (call after ``validate``: one of the choices)."""
        return RevokeReason(self.reason.data or RevokeReason.NO_LONGER_NEEDED)
