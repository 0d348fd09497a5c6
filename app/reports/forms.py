"""The statistics filter (a GET form: a period and a site are not personal data). The values
are checked by ``publication.resolve`` (scope, grid periods), which says what is wrong."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField

from app.directory.models import Site
from app.reports import scopes
from app.reports.filters import period_choices


class StatsFilterForm(FlaskForm):
    """Which period and which site (or all sites, for programme managers)."""

    class Meta:
        csrf = False  # a read in the query string

    period = SelectField(_l("Period"), validate_choice=False)
    site = SelectField(_l("Site"), validate_choice=False)
    show = SubmitField(_l("Show"))

    def offer(self, sites: list[Site], *, all_sites: bool, today: Any) -> None:
        """The choices: periods up to this month; the user's sites (and all, if allowed)."""
        self.period.choices = period_choices(today)
        choices: list[tuple[str, Any]] = [(str(s.id), s.name) for s in sites]
        if all_sites:
            choices.insert(0, (scopes.ALL, _l("All sites")))
        self.site.choices = choices
