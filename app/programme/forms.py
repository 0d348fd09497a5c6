"""Forms of the programme logs. Every rule is checked on the server (``rules``); bad input saves
nothing and is shown beside its field, with what the user typed kept. There is no free-text
field anywhere: a name cannot be written into a log."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, MonthField, SelectField, SubmitField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import HiddenInput

from app.audit.actions import Action
from app.core.ids import parse_uuid
from app.directory.models import Site
from app.forms import OneTimeSubmission, PageField
from app.localtime import today, user_zone
from app.programme import rules
from app.programme.labels import CELL_LABELS, TOPIC_LABELS
from app.programme.rules import Kind
from app.programme.service import ActivityEntry
from app.safe_space.forms import CountField, month_in_range


class ActivityForm(FlaskForm):
    """Log (or correct) one activity. The view sets ``sites`` (the user's sites, by id) and
    the site choices before validating; subclasses add the kind's count cells."""

    kind: Kind
    site = SelectField(_l("Site"), validate_choice=False)
    held_on = DateField(_l("Date"), validators=[InputRequired(
        message=_l("Enter the date of the activity."))])
    topic = SelectField(_l("Topic"), validate_choice=False)
    submit = SubmitField(_l("Save"))

    sites: dict[str, Site]
    current_site_id: uuid.UUID | None = None   # when correcting: the log's site and date
    current_date: date | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topic.choices = [("", _l("Choose a topic"))] + [
            (code, TOPIC_LABELS[self.kind.code][code]) for code in self.kind.topics]

    def chosen_site(self) -> Site | None:
        """The chosen site, if it is one of the user's."""
        return getattr(self, "sites", {}).get(self.site.data or "")

    def values(self) -> dict[str, Any]:
        """The submitted values, keyed as ``rules`` expects."""
        return {"site_id": self.site.data, "held_on": self.held_on.data,
                "topic": self.topic.data or None,
                **{name: self[name].data for name in self.kind.cells}}

    def command(self) -> ActivityEntry:
        """The activity as given, typed for the service (call after ``validate``)."""
        return ActivityEntry(site_id=parse_uuid(self.site.data), held_on=self.held_on.data,
                             topic=self.topic.data or None,
                             counts={name: self[name].data for name in self.kind.cells})

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        problems = rules.log_errors(self.kind, self.values(), self.chosen_site(),
                                    today(user_zone()), current_site_id=self.current_site_id,
                                    current_date=self.current_date)
        self.show(problems)
        return not any(f.errors for f in self) and not self.form_errors

    def show(self, errors: dict[str, str]) -> None:
        """Put messages (from ``rules`` or the service) beside their fields; one about the
        counts as a whole above the grid. A field's own format message comes first."""
        for name, message in errors.items():
            if name == rules.TOTAL_FIELD or name not in self:
                if message not in self.form_errors:
                    self.form_errors.append(message)
            elif not self[name].errors:
                self[name].errors = [message]

    def refused_site_id(self) -> uuid.UUID | None:
        """The id given for a site outside the user's scope (to audit), if any."""
        if self.chosen_site() is not None:
            return None
        return parse_uuid(self.site.data)


class AwarenessForm(ActivityForm):
    """Log or correct a community awareness session (people reached, counts only)."""

    kind = rules.AWARENESS
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    female_10_14 = CountField(CELL_LABELS["female_10_14"], default=0)
    female_15_19 = CountField(CELL_LABELS["female_15_19"], default=0)
    female_20_24 = CountField(CELL_LABELS["female_20_24"], default=0)
    female_25_49 = CountField(CELL_LABELS["female_25_49"], default=0)
    female_50_plus = CountField(CELL_LABELS["female_50_plus"], default=0)
    male_10_14 = CountField(CELL_LABELS["male_10_14"], default=0)
    male_15_19 = CountField(CELL_LABELS["male_15_19"], default=0)
    male_20_24 = CountField(CELL_LABELS["male_20_24"], default=0)
    male_25_49 = CountField(CELL_LABELS["male_25_49"], default=0)
    male_50_plus = CountField(CELL_LABELS["male_50_plus"], default=0)


class TrainingForm(ActivityForm):
    """Log or correct a staff training (people trained, counts only)."""

    kind = rules.TRAINING
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    female_own = CountField(CELL_LABELS["female_own"], default=0)
    male_own = CountField(CELL_LABELS["male_own"], default=0)
    female_partner = CountField(CELL_LABELS["female_partner"], default=0)
    male_partner = CountField(CELL_LABELS["male_partner"], default=0)


class NewAwarenessForm(OneTimeSubmission, AwarenessForm):
    """Log a new awareness session, with its one-time token."""

    submission_kind = Action.AWARENESS_SESSION_CREATE


class NewTrainingForm(OneTimeSubmission, TrainingForm):
    """Log a new staff training, with its one-time token."""

    submission_kind = Action.TRAINING_CREATE


EDIT_FORMS: dict[str, type[ActivityForm]] = {"awareness": AwarenessForm,
                                             "trainings": TrainingForm}
NEW_FORMS: dict[str, type[ActivityForm]] = {"awareness": NewAwarenessForm,
                                            "trainings": NewTrainingForm}


class ListForm(FlaskForm):
    """Which month of a site's log to show, and which page (a GET form: no personal data)."""

    class Meta:
        csrf = False

    month = MonthField(_l("Month"), validators=[Optional(), month_in_range])
    page = PageField()
    show = SubmitField(_l("Show"))
