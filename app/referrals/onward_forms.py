"""Forms of the receiving service's own work on a referral: referring the survivor on, and
recording the services given. Each builds the typed command its service takes; the service
checks every value again."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, SelectMultipleField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from app.audit.actions import Action
from app.cases.labels import CHOOSE
from app.core.ids import parse_uuid
from app.core.text import TEXT_MAX
from app.forms import LongText, OneTimeSubmission
from app.referrals.labels import URGENCY_CHOICES
from app.referrals.models import Urgency
from app.referrals.onward import NewOnward
from app.referrals.service_records import SERVICE_GIVEN_CHOICES, NewServiceRecord


class OnwardForm(OneTimeSubmission):
    """Refer the survivor on: the service, the urgency, the fields to pass on (only those both
    received and consented for the new service's type), a message. "Show what can be passed
    on" (``choose``) sends the form back to list the fields for the service chosen, and sends
    nothing. One-time token bound to the parent referral."""

    submission_kind = Action.REFERRAL_REFER_ON

    service = SelectField(_l("Refer on to"), validators=[DataRequired()])
    choose = SubmitField(_l("Show what can be passed on"))
    urgency = SelectField(_l("Urgency"), choices=[("", CHOOSE), *URGENCY_CHOICES],
                          validators=[DataRequired(message=_l("Answer this question."))])
    fields = SelectMultipleField(_l("Also pass on (only what your service received and the "
                                    "survivor agreed to)"),
                                 validators=[Optional()], validate_choice=False)
    message = LongText(_l("Message to the service (sealed)"),
                       validators=[Optional(), Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Refer on"))

    def chosen_service_id(self) -> uuid.UUID | None:
        """The service chosen (None when none is, or the value is not an id)."""
        return parse_uuid(self.service.data)

    def command(self) -> NewOnward:
        """The onward referral asked for (call after ``validate``)."""
        service_id = self.chosen_service_id()
        assert service_id is not None  # DataRequired and the choices
        return NewOnward(service_id=service_id,
                         urgency=Urgency(self.urgency.data or Urgency.NORMAL),
                         fields=tuple(self.fields.data or ()), message=self.message.data)


class ServiceRecordForm(OneTimeSubmission):
    """A service given on the referral: when, what, notes (sealed under the referral's key).
    One-time token bound to the referral: a retried post records nothing more."""

    submission_kind = Action.REFERRAL_SERVICE_RECORD

    given_on = DateField(_l("Date given"), validators=[DataRequired(
        message=_l("Give the date the service was given."))])
    service_code = SelectField(_l("Service given"), choices=[("", CHOOSE), *SERVICE_GIVEN_CHOICES],
                               validators=[DataRequired(message=_l("Choose the service given "
                                                                   "from the list."))],
                               validate_choice=False)
    notes = LongText(_l("Notes (sealed; the caseworker reads them only if the survivor agreed)"),
                     validators=[Optional(), Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Record the service"))

    def command(self) -> NewServiceRecord:
        """The entry (call after ``validate``)."""
        return NewServiceRecord(given_on=self.given_on.data,
                                service_code=self.service_code.data or None,
                                notes=self.notes.data)
