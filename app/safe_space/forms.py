"""Forms of the safe-space area. Every rule is checked on the server (``rules``); bad input
saves nothing and is shown beside its field, with what the user typed kept."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    MonthField,
    SelectField,
    SelectMultipleField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget, TextInput

from app.audit.actions import Action
from app.clock import utcnow
from app.core.bidi import ranges_kept
from app.core.ids import parse_uuid
from app.directory.models import SafeSpace
from app.forms import CleanStringField, LongText, OneTimeSubmission
from app.localtime import today, user_zone
from app.safe_space import rules
from app.safe_space.models import AREA_MAX, NOTES_MAX, TOPIC_MAX
from app.safe_space.service import ActivityTypeSpec, SessionLog

WHOLE_NUMBER = re.compile(r"^[+]?\d{1,6}$")  # \d includes Arabic-Indic digits


class CountField(Field):
    """A count: a whole number typed in any script's digits; anything else is kept as typed
    and refused with a clear message (``1.5``, ``-2``, ``abc``, empty)."""

    widget = TextInput()  # not type=number: it would drop what was typed in Arabic-Indic digits

    def __init__(self, label: Any = None, invalid_message: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(label, **kwargs)
        self.raw: str | None = None
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = str(valuelist[0]).strip() if valuelist else ""
        self.data = int(self.raw) if WHOLE_NUMBER.match(self.raw) else None

    def pre_validate(self, form: Any) -> None:
        if self.raw is None or self.data is not None:
            return
        if self.invalid_message is not None:
            self.errors.append(str(self.invalid_message))
        elif self.raw.startswith("-") and self.raw[1:].isdigit():
            self.errors.append(str(_l("A count cannot be negative.")))
        else:
            self.errors.append(str(_l("Enter a whole number (0 if none).")))

    def _value(self) -> str:
        return self.raw if self.raw is not None else ("" if self.data is None else str(self.data))


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (choices are checked by the form, with its own message)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionForm(FlaskForm):
    """Log (or correct) one session. The view sets the choices and ``spaces`` (the safe spaces
    in the user's scope, by id) before validating."""

    safe_space = SelectField(_l("Safe space"), validate_choice=False)
    held_on = DateField(_l("Date of the session"), validators=[InputRequired(
        message=_l("Enter the date of the session."))])
    activity_type = SelectField(_l("Activity"), validate_choice=False)
    topic = CleanStringField(_l("Topic"), validators=[
        DataRequired(message=_l("Give the topic in a few words.")),
        Length(max=TOPIC_MAX, message=_l("At most %(max)d characters."))])
    outreach_area = CleanStringField(_l("Outreach area (mobile safe spaces only)"), validators=[
        Optional(), Length(max=AREA_MAX, message=_l("At most %(max)d characters."))])
    facilitators = MultiCheckboxField(_l("Facilitators"), validate_choice=False)
    duration_minutes = CountField(_l("Duration (minutes)"), invalid_message=_l(
        "Enter the duration in minutes, from %(a)d to %(b)d.", a=rules.DURATION_MIN,
        b=rules.DURATION_MAX))
    girls_10_14 = CountField(ranges_kept(_l("Girls aged 10–14")), default=0)
    girls_15_19 = CountField(ranges_kept(_l("Girls aged 15–17")), default=0)
    women_15_19 = CountField(ranges_kept(_l("Women aged 18–19")), default=0)
    women_20_24 = CountField(ranges_kept(_l("Women aged 20–24")), default=0)
    women_25_49 = CountField(ranges_kept(_l("Women aged 25–49")), default=0)
    women_50_plus = CountField(_l("Women aged 50 and over"), default=0)
    new_participants = CountField(_l("New participants"), default=0)
    returning_participants = CountField(_l("Returning participants"), default=0)
    with_disabilities = CountField(_l("Participants with disabilities"), default=0)
    case_management_requests = CountField(_l("Requests for case management"), default=0)
    referrals_made = CountField(_l("Referrals made"), default=0)
    notes = LongText(_l("Notes"), validators=[Optional(), Length(
        max=NOTES_MAX, message=_l("Notes can be at most %(max)d characters; shorten them."))])
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    submit = SubmitField(_l("Save session"))

    spaces: dict[str, SafeSpace]
    current_space_id: uuid.UUID | None = None  # when correcting a session: its safe space

    def chosen_space(self) -> SafeSpace | None:
        """The chosen safe space, if it is one of the user's."""
        return getattr(self, "spaces", {}).get(self.safe_space.data or "")

    def values(self) -> dict[str, Any]:
        """The submitted values, keyed as the service and ``rules`` expect."""
        values: dict[str, Any] = {
            "safe_space_id": self.safe_space.data, "held_on": self.held_on.data,
            "topic": self.topic.data or "",
            "outreach_area": self.outreach_area.data or None, "notes": self.notes.data or None,
            "duration_minutes": self.duration_minutes.data,
            "activity_type_id": self.activity_type.data, "facilitator_ids": self.facilitators.data,
        }
        values.update({name: getattr(self, name).data for name in rules.ALL_COUNTS})
        return values

    def command(self) -> SessionLog:
        """The session as given, typed for the service (call after ``validate``)."""
        ids = [parse_uuid(i) for i in self.facilitators.data or []]
        return SessionLog(
            safe_space_id=parse_uuid(self.safe_space.data),
            activity_type_id=parse_uuid(self.activity_type.data), held_on=self.held_on.data,
            topic=self.topic.data or "", duration_minutes=self.duration_minutes.data,
            facilitator_ids=tuple(i for i in ids if i is not None),
            outreach_area=self.outreach_area.data or None, notes=self.notes.data or None,
            **{name: getattr(self, name).data for name in rules.ALL_COUNTS})

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        if self.activity_type.data not in {str(v) for v, _label in self.activity_type.choices or []}:
            self.activity_type.errors = [str(_l("Choose an activity."))]
        offered = {str(v) for v, _label in self.facilitators.choices or []}
        if not self.facilitators.data:
            self.facilitators.errors = [str(_l("Choose at least one facilitator."))]
        elif not set(self.facilitators.data) <= offered:
            self.facilitators.errors = [str(_l("Choose facilitators from your organisation's "
                                               "staff."))]
        problems = rules.session_errors(self.values(), self.chosen_space(), today(user_zone()),
                                        current_space_id=self.current_space_id)
        for name, message in problems.items():
            if name == rules.TOTAL_FIELD:
                self.form_errors.append(message)
            elif not getattr(self, name).errors:
                getattr(self, name).errors = [message]
        return not any(f.errors for f in self) and not self.form_errors

    def refused_space_id(self) -> uuid.UUID | None:
        """The id given for a safe space outside the user's scope (to audit), if any."""
        if self.chosen_space() is not None:
            return None
        return parse_uuid(self.safe_space.data)


class NewSessionForm(OneTimeSubmission, SessionForm):
    """Log a new session, with its one-time token (a retried POST shows the session logged)."""

    submission_kind = Action.WGSS_SESSION_CREATE


class ActivityTypeForm(FlaskForm):
    """Add or rename an activity type, or switch it off (it stays on old sessions)."""

    code = CleanStringField(_l("Code"), validators=[
        DataRequired(), Length(max=40),
        Regexp(r"^[a-z][a-z0-9_]*$", message=_l("Lower-case letters, digits and underscores, "
                                                "starting with a letter."))])
    label = CleanStringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    active = BooleanField(_l("Offered for new sessions"), default=True)
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def command(self) -> ActivityTypeSpec:
        """The activity type as given (call after ``validate``; the code only on a new type)."""
        code = self.code.data if "code" in self else None
        return ActivityTypeSpec(label=self.label.data or "", active=bool(self.active.data),
                                code=code)


class NewActivityTypeForm(OneTimeSubmission, ActivityTypeForm):
    """Add an activity type, with its one-time token."""

    submission_kind = Action.ACTIVITY_TYPE_CREATE


MONTH_MIN = date(1900, 1, 1)


def month_max() -> date:
    """The last month that can be shown: December of next year (later ones hold nothing)."""
    return date(utcnow().year + 1, 12, 1)


def month_in_range(_form: Any, field: Field) -> None:
    """Refuse months before 1900 or after next year (year 1 or 9999 would break the month
    arithmetic, and hold no sessions anyway)."""
    if field.data is not None and not MONTH_MIN <= field.data <= month_max():
        raise ValidationError(_l("Choose a month from %(first)s to %(last)s.",
                                 first=MONTH_MIN.strftime("%Y-%m"),
                                 last=month_max().strftime("%Y-%m")))


class MonthForm(FlaskForm):
    """Which month to show (a GET form: a month is not personal data)."""

    class Meta:
        csrf = False

    month = MonthField(_l("Month"), validators=[Optional(), month_in_range])
    show = SubmitField(_l("Show"))


# "YYYY-MM", "YYYY-Qn" or "YYYY", ASCII digits only: the nodes of the publication grid.
PERIOD = re.compile(r"^(?P<year>[0-9]{4})(?:-(?P<month>0[1-9]|1[0-2])|-Q(?P<quarter>[1-4]))?$")
YEAR_MIN = 2000


def period_in_grid(_form: Any, field: Field) -> None:
    """A month, a quarter or a year of the grid; a custom range is refused (its figures could
    not be protected together with the months, quarters and years already published)."""
    value = (field.data or "").strip().upper()
    found = PERIOD.match(value)
    if found is None or int(found["year"]) < YEAR_MIN:
        raise ValidationError(str(ranges_kept(_l(
            "Enter a month (2026-03), a quarter (2026-Q1) or a year (2026). Other ranges "
            "cannot be shown: their figures could not be protected."))))
    field.data = value


class FiguresForm(FlaskForm):
    """Which period and site the safe-space figures show (a GET form: no personal data). The
    view sets the site choices; a site that is not among them is the view's to answer."""

    class Meta:
        csrf = False

    period = CleanStringField(_l("Period"), validators=[Optional(), period_in_grid],
                              description=ranges_kept(_l(
                                  "A month (2026-03), a quarter (2026-Q1) or a year (2026).")))
    site = SelectField(_l("Site"), validate_choice=False)
    show = SubmitField(_l("Show"))

    @property
    def year(self) -> int:
        """The period's year (call after ``validate`` with a period set)."""
        return int(str(self.period.data)[:4])
