"""The field intake form: the online intake's own forms, with the same fields and rules, drawn
together for first contact offline.

The shell page renders these forms (``person-``, ``consent-`` and ``incident-`` prefixes) and
the browser checks them before sealing from what the fields declare (``required``, ``maxlength``,
``min``/``max``, ``data-not-future``, ``data-must-be``); the server validates the opened
submission with the very same forms (``FieldIntakeForms.validate``). No rule is written twice:
a rule changed in ``app.cases.forms`` or ``app.cases.incident_forms`` changes here too.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, RadioField, SelectField
from wtforms.validators import InputRequired, Optional, ValidationError

from app.cases import gbvims
from app.cases.consent import child_consent_problem
from app.cases.forms import (
    CAREGIVER_NOT_ASKED,
    CHILD_ASSENT,
    CONSENT_METHODS,
    GIVEN_BY,
    YES_NO,
    IntakeForm,
    today,
)
from app.cases.incident_forms import IncidentForm
from app.cases.labels import Domain, label

PERSON, CONSENT, INCIDENT = "person", "consent", "incident"


class MustBe:
    """Refuse any answer but ``value``; rendered as ``data-must-be`` with its message as
    ``data-must-be-message`` so the browser refuses it before sealing, in the page's language."""

    def __init__(self, value: str, message: Any) -> None:
        self.value, self.message = value, message
        self.field_flags = {"data_must_be": value}

    def __call__(self, _form: Any, field: Any) -> None:
        if field.data and field.data != self.value:
            raise ValidationError(self.message)


NO_SERVICES_CONSENT = _l("A field intake needs the survivor's consent for case management "
                         "services. Without it, record nothing: give the information and "
                         "referrals she asks for.")


class FieldPersonForm(IntakeForm):
    """Identity and categories, as intake records them; the site is chosen when the intake
    becomes a case."""

    class Meta:
        csrf = False

    site = None
    version = None
    submit = None


class FieldConsentForm(FlaskForm):
    """The consent decisions of first contact: services (required, and must be given), the
    non-identifying statistics, sharing per type of service, and who gave them and how."""

    class Meta:
        csrf = False

    services = RadioField(_l("Consent to case management services"),
                          choices=[("yes", _l("Given")), ("no", _l("Refused"))],
                          validators=[InputRequired(message=_l("Answer this question.")),
                                      MustBe("yes", NO_SERVICES_CONSENT)])
    reporting = RadioField(_l("Consent to non-identifying statistics"),
                           choices=[("yes", _l("Given")), ("no", _l("Refused"))],
                           validators=[InputRequired(message=_l("Answer this question."))])
    given_by = SelectField(_l("Given by"), choices=GIVEN_BY)
    method = SelectField(_l("How"), choices=CONSENT_METHODS)
    child_assent = SelectField(_l("Child's assent (children only)"), validators=[Optional()],
                               choices=CHILD_ASSENT)
    caregiver_not_asked_reason = SelectField(_l("If the caregiver was not asked, why"),
                                             validators=[Optional()],
                                             choices=CAREGIVER_NOT_ASKED)

    SHARE_PREFIX = "share_"

    @classmethod
    def with_share_questions(cls) -> type[FieldConsentForm]:
        """The form with one optional yes/no per type of service (consent to share with it);
        unanswered means not given."""
        fields = {f"{cls.SHARE_PREFIX}{code}": RadioField(
            _l("Share with %(service)s", service=label(code, Domain.SERVICE_TYPE)),
            choices=YES_NO, validators=[Optional()]) for code in gbvims.SERVICE_TYPES}
        return type("FieldConsentFormWithShares", (cls,), fields)

    def shares(self) -> dict[str, bool]:
        """Consent to share, per service type answered (``True``: given)."""
        out = {}
        for code in gbvims.SERVICE_TYPES:
            data = getattr(self, f"{self.SHARE_PREFIX}{code}").data
            if data in ("yes", "no"):
                out[str(code)] = data == "yes"
        return out


class FieldIncidentForm(IncidentForm):
    """The incident with the six classification questions (and the rest of the online form).
    ``reported_date`` is the capture date: the server sets it from the envelope."""

    class Meta:
        csrf = False

    version = None
    submit = None


class FieldUrgencyForm(FlaskForm):
    """Whether the survivor needs urgent care (the pending list shows these first)."""

    class Meta:
        csrf = False

    urgent = BooleanField(_l("Urgent: needs care now (for example medical care after rape)"))


class FieldIntakeForms:
    """The four forms of one field intake, built from one set of posted or opened fields."""

    def __init__(self, formdata: MultiDict[str, Any] | None = None) -> None:
        self.person = FieldPersonForm(formdata=formdata, prefix=PERSON)
        self.consent = FieldConsentForm.with_share_questions()(formdata=formdata,
                                                               prefix=CONSENT)
        self.incident = FieldIncidentForm(formdata=formdata, prefix=INCIDENT)
        self.urgency = FieldUrgencyForm(formdata=formdata)

    def validate(self) -> bool:
        """Every rule of online intake, consent and incident, and the child consent rule (the
        age comes from the person form)."""
        ok = all([self.person.validate(), self.consent.validate(), self.incident.validate(),
                  self.urgency.validate()])
        if ok:
            granted = self.consent.services.data == "yes"
            assent = {"yes": True, "no": False}.get(self.consent.child_assent.data or "")
            problem = child_consent_problem(self.is_child(), granted, assent,
                                            self.consent.given_by.data or "",
                                            self.consent.caregiver_not_asked_reason.data)
            if problem is not None:
                self.consent.child_assent.errors = [problem]
                ok = False
        return ok

    def is_child(self) -> bool:
        """Whether the survivor is under 18 today (date of birth, else the estimated age)."""
        dob, est = self.person.date_of_birth.data, self.person.estimated_age.data
        if dob:
            on = today()
            return bool(on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day)) < 18)
        return est is not None and int(est) < 18

    @property
    def errors(self) -> dict[str, list[str]]:
        """Every message by the field's full name (``person-full_name``)."""
        out: dict[str, list[str]] = {}
        for form in (self.person, self.consent, self.incident, self.urgency):
            for field in form:
                if field.errors and field.type != "FieldList":
                    out[field.name] = [str(e) for e in field.errors]
            for entry in getattr(form, "perpetrators", []):
                for field in entry.form:
                    if field.errors:
                        out[field.name] = [str(e) for e in field.errors]
        return out
