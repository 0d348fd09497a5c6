"""Forms of the case area. Every field is validated on the server; bad input saves nothing and
is shown beside its field with what the user typed kept."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from app.audit.actions import Action
from app.cases import justifications
from app.cases.labels import Domain, choices
from app.cases.models import NATIONALITY_GROUPS, RISK_LEVELS, SEXES, YES_NO_UNKNOWN
from app.cases.workflow import CLOSURE_REASONS, REOPEN_REASONS
from app.clock import utcnow
from app.core.text import LONG_TEXT_MAX, NAME_MAX, TEXT_MAX
from app.forms import CleanStringField, LongText, OneTimeSubmission, PageField
from app.localtime import user_zone

PHONE_RE = re.compile(r"^\+?[0-9٠-٩۰-۹ ()./-]{6,24}$")


def today() -> date:
    """Today's date in the user's organisation's time zone (from the app clock, so tests can
    freeze it)."""
    return utcnow().astimezone(user_zone()).date()


class NotInFuture:
    """Refuse a date after today. Rendered with ``data-not-future``, so a form checked in the
    browser before it is sent (the offline field intake, ``app/static/js/field-intake.js``)
    applies the same rule, with the same message, from the same declaration."""

    MESSAGE = _l("This date is in the future.")
    field_flags = {"data_not_future": True}

    def __call__(self, _form: Any, field: Any) -> None:
        if field.data and field.data > today():
            raise ValidationError(self.MESSAGE)


not_in_future = NotInFuture()


def not_too_old(_form: Any, field: Any) -> None:
    """Refuse dates before 1900 (typos such as 0202)."""
    if field.data and field.data.year < 1900:
        raise ValidationError(_l("This date is too far in the past."))


def phone_number(_form: Any, field: Any) -> None:
    """A phone number: digits with an optional +, spaces, dots, dashes or brackets."""
    if field.data and not PHONE_RE.match(field.data):
        raise ValidationError(_l("Enter a phone number with digits only, for example +218 91 234 5678."))


YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


def yes_no() -> RadioField:
    """A classification question: yes or no, nothing ticked, an answer required."""
    return RadioField(choices=YES_NO, validators=[InputRequired(message=_l("Answer this question."))])


def required_select(label: Any, domain: str, codes: Any = None) -> SelectField:
    """A select that starts on "Choose…" and refuses to stay there."""
    return SelectField(label, choices=choices(domain, codes, blank=True),
                       validators=[DataRequired(message=_l("Answer this question."))])


class SearchForm(FlaskForm):
    """Search before create: name, phone or case number (sent by POST, never in a URL)."""

    name = CleanStringField(_l("Name or alias"), validators=[Optional(), Length(max=NAME_MAX)])
    phone = CleanStringField(_l("Phone"), validators=[Optional(), Length(max=24), phone_number])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), not_in_future, not_too_old])
    case_number = CleanStringField(_l("Case number"), validators=[Optional(), Length(max=24)])
    submit = SubmitField(_l("Search"))

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not (self.name.data or self.phone.data or self.date_of_birth.data
                or self.case_number.data):
            self.name.errors = [str(_l("Enter a name, a phone number, a date of birth or a case "
                                       "number."))]
            return False
        return True


class HandOffForm(FlaskForm):
    """What the search page posts to intake: the name, phone and date of birth just searched,
    so the caseworker does not type them twice (POST: never in a URL)."""

    handoff = HiddenField()
    name = HiddenField(validators=[Optional(), Length(max=NAME_MAX)])
    phone = HiddenField(validators=[Optional(), Length(max=24), phone_number])
    # Sent as a hidden ISO date; anything else makes the hand-off invalid (nothing carried).
    date_of_birth = DateField(validators=[Optional()], widget=HiddenInput())


class IntakeForm(FlaskForm):
    """Opening a case: identity (sealed) and categories (clear, for statistics)."""

    site = SelectField(_l("Site"), validators=[DataRequired()])
    full_name = CleanStringField(_l("Full name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    alias = CleanStringField(_l("Alias or name used"), validators=[Optional(), Length(max=NAME_MAX)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), not_in_future, not_too_old])
    estimated_age = IntegerField(_l("Estimated age (if no date of birth)"),
                                 validators=[Optional(), NumberRange(min=0, max=120)])
    sex = required_select(_l("Sex"), Domain.SEX, SEXES)
    nationality_group = required_select(_l("Nationality"), Domain.NATIONALITY, NATIONALITY_GROUPS)
    displacement_status = required_select(_l("Displacement status"), Domain.DISPLACEMENT)
    disability = required_select(_l("Disability"), Domain.YES_NO_UNKNOWN, YES_NO_UNKNOWN)
    phone = CleanStringField(_l("Phone"), validators=[Optional(), Length(max=24), phone_number])
    location = LongText(_l("Address or location"), validators=[Optional(), Length(max=TEXT_MAX)])
    safe_contact = LongText(_l("Safe contact instructions"),
                            validators=[Optional(), Length(max=TEXT_MAX)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = bool(super().validate(extra_validators))
        if ok and self.date_of_birth.data is None and self.estimated_age.data is None:
            self.estimated_age.errors = [str(_l("Give a date of birth or an estimated age."))]
            return False
        return ok


class NewCaseForm(OneTimeSubmission, IntakeForm):
    """Intake of a new case, with its one-time token (the edit form has none)."""

    submission_kind = Action.CASE_CREATE

    def issue_token(self) -> None:
        """Give the form its one-time token when it is shown in answer to a POST (the search
        page's hand-off), as it gets one when shown in answer to a GET."""
        self._fresh_token()


# Who gave a consent, how, and a child's part in it (the consent form and the field intake).
GIVEN_BY = [("survivor", _l("Survivor")), ("caregiver", _l("Caregiver")),
            ("both", _l("Child with caregiver"))]
CONSENT_METHODS = [("verbal", _l("Verbal")), ("written", _l("Written")),
                   ("thumbprint", _l("Thumbprint"))]
CHILD_ASSENT = [("", _l("Not a child")), ("yes", _l("Child assents")),
                ("no", _l("Child does not assent"))]
CAREGIVER_NOT_ASKED = [
    ("", _l("Caregiver was asked")),
    ("caregiver_alleged_perpetrator", _l("Caregiver is the alleged perpetrator")),
    ("no_caregiver", _l("No caregiver available")),
    ("not_in_best_interest", _l("Not in the child's best interest")),
    ("mature_minor", _l("Mature minor, consents alone"))]


class ConsentForm(OneTimeSubmission):
    """Record (or withdraw) one consent (each POST adds a record: one-time token)."""

    submission_kind = Action.CONSENT_RECORD

    kind = SelectField(_l("Consent to"), validators=[DataRequired()])
    granted = RadioField(_l("Decision"), choices=[("yes", _l("Given")), ("no", _l("Withdrawn / refused"))],
                         validators=[InputRequired()])
    given_by = SelectField(_l("Given by"), choices=GIVEN_BY)
    method = SelectField(_l("How"), choices=CONSENT_METHODS)
    child_assent = SelectField(_l("Child's assent (children only)"), validators=[Optional()],
                               choices=CHILD_ASSENT)
    caregiver_not_asked_reason = SelectField(
        _l("If the caregiver was not asked, why"), validators=[Optional()],
        choices=CAREGIVER_NOT_ASKED)
    share_fields = SelectMultipleField(
        _l("Fields the survivor agrees to share (sharing consents only)"), validators=[Optional()])
    submit = SubmitField(_l("Record consent"))


class AssessmentForm(OneTimeSubmission):
    """Risk, needs, assessment notes and the safety plan. The first save creates the
    assessment, so every save carries a one-time token (a retried save is shown as saved)."""

    submission_kind = Action.ASSESSMENT_UPDATE

    risk_level = required_select(_l("Risk level"), Domain.RISK, RISK_LEVELS)
    needs = SelectMultipleField(_l("Needs"), choices=choices(Domain.SERVICE_TYPE), validators=[Optional()])
    notes = LongText(_l("Assessment notes (sealed)"), validators=[Optional(), Length(max=LONG_TEXT_MAX)])
    safety_plan = LongText(_l("Safety plan (sealed)"), validators=[Optional(), Length(max=LONG_TEXT_MAX)])
    version = HiddenField()
    submit = SubmitField(_l("Save assessment"))


class ActionItemForm(FlaskForm):
    """A goal of the action plan."""

    goal = LongText(_l("Goal (sealed)"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    service_type = SelectField(_l("Service"), choices=choices(Domain.SERVICE_TYPE))
    due_on = DateField(_l("Due on"), validators=[DataRequired(), not_too_old])
    status = SelectField(_l("Status"), choices=choices(Domain.ACTION_STATUS))
    version = HiddenField()
    submit = SubmitField(_l("Save goal"))


class NewActionItemForm(OneTimeSubmission, ActionItemForm):
    """A new goal of the action plan, with its one-time token."""

    submission_kind = Action.ACTION_ITEM_CREATE


class FollowUpForm(OneTimeSubmission):
    """A follow-up visit: planned (due date) or done (with notes). Creates one: one-time token."""

    submission_kind = Action.FOLLOW_UP_CREATE

    due_on = DateField(_l("Planned for"), validators=[DataRequired(), not_too_old])
    done_on = DateField(_l("Done on"), validators=[Optional(), not_in_future, not_too_old])
    notes = LongText(_l("Notes (sealed)"), validators=[Optional(), Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Save follow-up"))


class NoteForm(FlaskForm):
    """A case note."""

    body = LongText(_l("Note (sealed)"), validators=[DataRequired(), Length(max=LONG_TEXT_MAX)])
    submit = SubmitField(_l("Add note"))


class NewNoteForm(OneTimeSubmission, NoteForm):
    """A new case note, with its one-time token."""

    submission_kind = Action.NOTE_CREATE


class StatusForm(FlaskForm):
    """Move the case to the next (or previous) stage."""

    to_status = SelectField(_l("Move to"), validators=[DataRequired()])
    version = HiddenField()
    submit = SubmitField(_l("Change status"))


class ClosureForm(FlaskForm):
    """Ask for closure (caseworker) with a reason."""

    reason = SelectField(_l("Reason for closure"), choices=list(CLOSURE_REASONS.items()))
    details = LongText(_l("Details (sealed)"), validators=[Optional(), Length(max=TEXT_MAX)])
    version = HiddenField()
    submit = SubmitField(_l("Request closure"))


class DecisionForm(FlaskForm):
    """A supervisor's decision on a closure request or a plan."""

    decision = RadioField(_l("Decision"), choices=[("approve", _l("Approve")), ("reject", _l("Send back"))],
                          validators=[InputRequired()])
    # Required to send a closure back (the service's rule); the caseworker sees it; sealed.
    reason = LongText(_l("Reason for sending back (required to send back; the caseworker sees it; sealed)"),
                      validators=[Optional(), Length(max=TEXT_MAX)])
    version = HiddenField()
    submit = SubmitField(_l("Decide"))


class ReopenForm(FlaskForm):
    """Reopen a closed case with a reason."""

    reason = SelectField(_l("Reason for reopening"), choices=list(REOPEN_REASONS.items()))
    details = LongText(_l("Details (sealed)"), validators=[Optional(), Length(max=TEXT_MAX)])
    version = HiddenField()
    submit = SubmitField(_l("Reopen"))


class AssignForm(FlaskForm):
    """Assign or reassign the caseworkers of a case (supervisors)."""

    primary = SelectField(_l("Primary caseworker"), validators=[DataRequired()])
    secondary = SelectField(_l("Secondary caseworker"), validators=[Optional()])
    # Asked when the primary caseworker changes (the service refuses a change without an
    # answer): the previous one loses the case at once unless kept as secondary.
    keep_previous = RadioField(_l("Keep the previous primary caseworker on the case as "
                                  "secondary?"),
                               choices=[("yes", _l("Yes, as secondary caseworker")),
                                        ("no", _l("No, they lose access to the case now"))],
                               validators=[Optional()])
    version = HiddenField()
    submit = SubmitField(_l("Assign"))


class BreakGlassForm(OneTimeSubmission):
    """Emergency read-only access to a case outside one's sites: a reason code, and text that
    must not name the survivor (required with "other"). Creates a grant: one-time token."""

    submission_kind = Action.BREAK_GLASS_OPEN

    case_number = CleanStringField(_l("Case number"), validators=[DataRequired(), Length(max=24)])
    reason_code = SelectField(_l("Why you need this case now"),
                              choices=justifications.choices(justifications.BREAK_GLASS_REASONS),
                              validators=[DataRequired(message=_l("Choose a reason from the list."))])
    justification = LongText(_l("Explanation (required with “Other”; no names or phone numbers)"),
                             validators=[Optional(), Length(max=justifications.TEXT_MAX)])
    submit = SubmitField(_l("Open with break-glass"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = bool(super().validate(extra_validators))
        return ok and justification_fields_ok(self, self.reason_code, self.justification,
                                              justifications.BREAK_GLASS_REASONS)


def justification_fields_ok(form: FlaskForm, code: Any, text: Any,
                            reasons: dict[str, Any]) -> bool:
    """Check a reason code and its text as the service will (``other`` needs a sentence) and
    put the message beside the field it concerns."""
    try:
        justifications.parse(reasons, code.data, text.data)
    except justifications.JustificationError as exc:
        (code if exc.field == "code" else text).errors = [str(exc)]
        return False
    return True


class EraseForm(FlaskForm):
    """Erase a case at the survivor's request (crypto-shredding)."""

    confirm_number = CleanStringField(_l("Type the case number to confirm"),
                                      validators=[DataRequired(), Length(max=24)])
    reason = SelectField(_l("Reason"), choices=[("survivor_request", _l("The survivor asked for erasure")),
                                               ("recorded_in_error", _l("Recorded in error"))])
    submit = SubmitField(_l("Erase this case for ever"))


class CaseFilterForm(FlaskForm):
    """Filters and sorting of case lists (GET; codes only, never personal data)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()])
    risk = SelectField(_l("Risk"), validators=[Optional()])
    site = SelectField(_l("Site"), validators=[Optional()])
    need = SelectField(_l("Needs attention"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), validators=[Optional()], choices=[
        ("-opened", _l("Newest first")), ("opened", _l("Oldest first")),
        ("-updated", _l("Recently changed")), ("risk", _l("Highest risk first")),
        ("number", _l("Case number"))])
    page = PageField()


class TransferForm(OneTimeSubmission):
    """Ask another organisation to take the case: which one (and, if needed, which site), how
    urgent. ``confirmed`` is set by the confirmation step shown when the case has an urgent
    referral unanswered. Creates a request: one-time token."""

    submission_kind = Action.CASE_TRANSFER_REQUEST

    # Choices are checked by the service (``transfer.request``), with a message that says why.
    organisation = SelectField(_l("Receiving organisation"), validate_choice=False, validators=[
        DataRequired(message=_l("Choose an organisation from the list."))])
    site = SelectField(_l("Receiving site (if the case must go to one)"), validate_choice=False,
                       validators=[Optional()])
    urgency = SelectField(_l("How urgent"), validators=[
        DataRequired(message=_l("Choose how urgent the transfer is."))])
    confirmed = HiddenField()
    submit = SubmitField(_l("Ask for the transfer"))


class TransferCancelForm(FlaskForm):
    """The sender withdraws a pending transfer request."""

    submit = SubmitField(_l("Cancel the transfer request"))


class TransferAcceptForm(FlaskForm):
    """The receiving supervisor accepts: where the case goes and who works on it."""

    site = SelectField(_l("Site"), validators=[DataRequired(message=_l("Choose one of your sites."))])
    primary = SelectField(_l("Primary caseworker"), validators=[
        DataRequired(message=_l("Choose an active caseworker of that site."))])
    submit = SubmitField(_l("Accept the case"))


class TransferDeclineForm(FlaskForm):
    """The receiving supervisor declines, with a reason code."""

    reason = SelectField(_l("Why you decline"), validators=[
        DataRequired(message=_l("Choose a reason from the list."))])
    submit = SubmitField(_l("Decline"))
