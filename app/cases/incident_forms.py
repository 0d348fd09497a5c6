"""The incident form: the GBVIMS classification questions, the facts behind the contexts, the
age at the incident and up to three perpetrators. Nothing is chosen in advance; the rules the
service also enforces (``app.cases.records.save_incident``) are checked here first so each
message shows beside its field."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SubmitField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.audit.actions import Action
from app.cases import gbvims
from app.cases.forms import YES_NO, not_in_future, not_too_old, required_select, yes_no
from app.cases.labels import Domain, choices
from app.core.text import LONG_TEXT_MAX, TEXT_MAX
from app.forms import LongText, OneTimeSubmission


class PerpetratorForm(Form):
    """One perpetrator (GBVIMS codes). Left entirely on "Choose…", the row is not recorded;
    started, every question of it must be answered ("Unknown" is an answer)."""

    sex = SelectField(_l("Sex"), choices=choices(Domain.SEX, gbvims.PERPETRATOR_SEXES, blank=True),
                      validators=[Optional()])
    age_group = SelectField(_l("Age group"), choices=choices(Domain.AGE_GROUP, blank=True),
                            validators=[Optional()])
    relationship = SelectField(_l("Relationship to the survivor"),
                               choices=choices(Domain.RELATIONSHIP, blank=True),
                               validators=[Optional()])
    occupation = SelectField(_l("Occupation"), choices=choices(Domain.OCCUPATION, blank=True),
                             validators=[Optional()])

    ANSWERS = ("sex", "age_group", "relationship", "occupation")

    def started(self) -> bool:
        """Whether any question of this perpetrator is answered."""
        return any(getattr(self, k).data for k in self.ANSWERS)


class IncidentForm(FlaskForm):
    """An incident, classified with the GBVIMS questions (the first yes decides). Nothing is
    chosen in advance: every question starts unanswered and must be answered."""

    incident_date = DateField(_l("Date of incident"), validators=[DataRequired(), not_in_future,
                                                                   not_too_old])
    date_is_approximate = BooleanField(_l("The date is approximate"))
    reported_date = DateField(_l("Date reported"), validators=[DataRequired(), not_in_future,
                                                                not_too_old])
    location_type = required_select(_l("Type of place"), Domain.LOCATION_TYPE)
    location_detail = LongText(_l("Area or place (sealed)"), validators=[Optional(), Length(max=TEXT_MAX)])
    penetration = yes_no()
    sexual_contact = yes_no()
    physical = yes_no()
    forced_marriage = yes_no()
    denial = yes_no()
    psychological = yes_no()
    exchange = RadioField(_l("Were money, goods, benefits or services exchanged?"),
                          choices=YES_NO, validators=[InputRequired(message=_l("Answer this question."))])
    abducted = RadioField(_l("Was the survivor abducted or held?"),
                          choices=YES_NO, validators=[InputRequired(message=_l("Answer this question."))])
    harmful_practice = RadioField(_l("Was the act a harmful traditional practice?"),
                                  choices=YES_NO,
                                  validators=[InputRequired(message=_l("Answer this question."))])
    harmful_practice_type = SelectField(_l("Which harmful traditional practice"),
                                        choices=choices(Domain.HARMFUL_PRACTICE, blank=True),
                                        validators=[Optional()])
    survivor_age_at_incident = IntegerField(_l("Survivor's age at the incident"),
                                            validators=[Optional(), NumberRange(min=0, max=120)])
    age_unknown = BooleanField(_l("The age at the incident is unknown"))
    perpetrator_count = required_select(_l("Number of perpetrators"), Domain.PERPETRATOR_COUNT)
    perpetrators = FieldList(FormField(PerpetratorForm), min_entries=gbvims.MAX_PERPETRATORS,
                             max_entries=gbvims.MAX_PERPETRATORS)
    time_of_day = required_select(_l("Time of day"), Domain.TIME_OF_DAY)
    incident_time = TimeField(_l("Approximate time (HH:MM)"), validators=[Optional()])
    displacement_stage = required_select(_l("Stage of displacement"), Domain.DISPLACEMENT_STAGE)
    narrative = LongText(_l("Account of the incident (sealed)"),
                         validators=[Optional(), Length(max=LONG_TEXT_MAX)])
    perpetrator_details = LongText(_l("Perpetrator details (sealed)"),
                                   validators=[Optional(), Length(max=TEXT_MAX)])
    version = HiddenField()
    submit = SubmitField(_l("Save incident"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = bool(super().validate(extra_validators))
        if self.reported_date.data and self.incident_date.data \
                and self.reported_date.data < self.incident_date.data:
            self.reported_date.errors = [str(_l("The report cannot come before the incident."))]
            ok = False
        if self._posted_beyond_three():
            self.perpetrator_count.errors = [str(_l(
                "At most three perpetrators are recorded; with more, choose “More than 3” as the "
                "number and record three of them."))]
            ok = False
        for entry in self.perpetrators:
            sub = entry.form
            if sub.started():
                for key in PerpetratorForm.ANSWERS:
                    f = getattr(sub, key)
                    if not f.data:
                        f.errors = [str(_l("Answer this question."))]
                        ok = False
        if self.harmful_practice.data == "yes" and not self.harmful_practice_type.data:
            self.harmful_practice_type.errors = [str(_l("Answer this question."))]
            ok = False
        if self.survivor_age_at_incident.data is None and not self.age_unknown.data \
                and not self.survivor_age_at_incident.errors:
            self.survivor_age_at_incident.errors = [str(_l(
                "Give the survivor's age at the incident, or mark it as unknown."))]
            ok = False
        return ok

    def process(self, formdata: Any = None, obj: Any = None, data: Any = None,
                extra_filters: Any = None, **kwargs: Any) -> None:
        # The data the form was filled from (the post, or a field intake's opened fields),
        # kept for ``_posted_beyond_three``.
        self._formdata = self.meta.wrap_formdata(self, formdata)
        super().process(self._formdata, obj, data, extra_filters=extra_filters, **kwargs)

    def _posted_beyond_three(self) -> bool:
        """Whether the data carries a perpetrator beyond the third (the list keeps three and
        would drop the rest silently)."""
        formdata = getattr(self, "_formdata", None) or {}
        prefix = f"{self.perpetrators.name}-"
        for key in formdata:
            if key.startswith(prefix):
                index = key[len(prefix):].split("-", 1)[0]
                if index.isdigit() and int(index) >= gbvims.MAX_PERPETRATORS and formdata[key]:
                    return True
        return False

    def answers(self) -> dict[str, bool]:
        """The classification answers, in order (every one answered once validated)."""
        return {q.key: getattr(self, q.key).data == "yes" for q in gbvims.CLASSIFICATION}

    def perpetrator_rows(self) -> list[dict[str, str]]:
        """The perpetrators recorded (the rows started), in order."""
        return [{k: getattr(e.form, k).data for k in PerpetratorForm.ANSWERS}
                for e in self.perpetrators if e.form.started()]

    def field_named(self, name: str) -> Any:
        """The field a service refusal names (``perpetrators-1-sex`` inside the list)."""
        for f in self:
            if f.name == name:
                return f
        for entry in self.perpetrators:
            for f in entry.form:
                if f.name == name:
                    return f
        return None


class NewIncidentForm(OneTimeSubmission, IncidentForm):
    """A new incident, with its one-time token."""

    submission_kind = Action.INCIDENT_CREATE
