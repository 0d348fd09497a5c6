"""The supervisors' forms: the list's page number, and handing one intake over."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired

from app.forms import PageField


class TeamListForm(FlaskForm):
    """``?page=N`` of the team's list."""

    class Meta:
        csrf = False

    page = PageField()


class HandoverForm(FlaskForm):
    """Whom to hand the intake to, and the reviewer the form was built on (a stale form, after
    another supervisor's hand-over, changes nothing)."""

    # The choice is checked by ``handover.hand_over`` against who may receive it now.
    to = SelectField(_l("Hand over to"), validate_choice=False,
                     validators=[DataRequired(message=_l("Choose the colleague."))])
    reviewer = HiddenField()
