"""The forms of the review page: opening a case (site and one-time token; the intake's own
fields come in the same post, as ``FieldIntakeForms`` reads them), adding to a case, and
discarding with a reason and a confirmation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired

from app.audit.actions import Action
from app.field.review import DISCARD_REASONS
from app.forms import OneTimeSubmission


class OpenCaseForm(OneTimeSubmission):
    """"Open a new case" (bound to the intake: a retried post shows the case it opened)."""

    submission_kind = Action.FIELD_INTAKE_OPEN_CASE
    site = SelectField(_l("Site"), validators=[DataRequired(message=_l("Choose the site."))])


class MergeForm(FlaskForm):
    """"Add to this case": the button pressed names the case."""

    case = StringField(_l("Case"), validators=[DataRequired(message=_l("Choose the case."))])


class DiscardForm(FlaskForm):
    """Discarding an intake: why, and that the reviewer means it."""

    reason = RadioField(_l("Why discard it"), choices=list(DISCARD_REASONS.items()),
                        validators=[InputRequired(message=_l("Choose a reason."))])
    confirm = BooleanField(_l("I understand that nothing of this intake will be kept"),
                           validators=[DataRequired(message=_l(
                               "Confirm that nothing of this intake will be kept."))])
