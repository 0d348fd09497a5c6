"""Forms for accounts and the directory."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.audit.actions import Action
from app.auth.policy import ROLE_LABELS, Role
from app.core.text import NAME_MAX
from app.directory.models import PLEDGE_TEXT_MAX, SAFE_SPACE_KINDS, SERVICE_TYPES
from app.directory.service import DirectoryError, clean_time_zone
from app.forms import CleanStringField, LongText, OneTimeSubmission, PageField

SERVICE_TYPE_LABELS = {
    "health_medical": _l("Health / medical (incl. clinical care for rape)"),
    "mhpss": _l("Mental health and psychosocial support"),
    "psychiatry": _l("Psychiatry"),
    "safety_security": _l("Safety and security"),
    "legal": _l("Legal assistance"),
    "shelter_safe_house": _l("Shelter / safe house"),
    "livelihoods": _l("Livelihoods"),
    "protection_child_protection": _l("Protection / child protection"),
    "wgss": _l("Women and girls safe space"),
    "other": _l("Other"),
}
KIND_LABELS = {"static": _l("Static"), "mobile": _l("Mobile (outreach)")}


class UserForm(FlaskForm):
    """Create or edit an account."""

    username = CleanStringField(_l("Username"), validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$",
               message=_l("Latin letters a-z, digits, dots, dashes and underscores only, "
                          "starting and ending with a letter or digit."))])
    display_name = CleanStringField(_l("Display name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    role = SelectField(_l("Role"), choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    organisation = SelectField(_l("Organisation"), validators=[DataRequired()])
    sites = SelectMultipleField(_l("Sites"), validators=[Optional()])
    safe_spaces = SelectMultipleField(_l("Safe spaces (coordinators only)"), validators=[Optional()])
    service = SelectField(_l("Service (service providers only)"), validators=[Optional()])
    language = SelectField(_l("Language"), choices=[("en", "English"), ("ar", "العربية")])
    version = HiddenField()
    submit = SubmitField(_l("Save"))


def time_zone_name(_form: object, field: object) -> None:
    """The directory's rule (``clean_time_zone``), its message shown beside the field."""
    try:
        clean_time_zone(getattr(field, "data", None))
    except DirectoryError as exc:
        raise ValidationError(str(exc)) from exc


class OrganisationForm(FlaskForm):
    """An organisation."""

    name = CleanStringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    active = BooleanField(_l("Active"), default=True)
    time_zone = CleanStringField(
        _l("Time zone"), validators=[Optional(), Length(max=64), time_zone_name],
        description=_l("IANA name, for example Africa/Tripoli. Times are shown and deadlines "
                       "counted in it. Empty: the instance's default."))
    passkey_roles = SelectMultipleField(
        _l("Roles that must use a passkey"), validators=[Optional()],
        choices=[(r.value, ROLE_LABELS[r]) for r in Role],
        description=_l("Accounts of these roles sign in and confirm actions with a passkey, not "
                       "a code, and must register one at their next sign-in."))
    version = HiddenField()
    submit = SubmitField(_l("Save"))


class SiteForm(FlaskForm):
    """A site."""

    organisation = SelectField(_l("Organisation"), validators=[DataRequired()])
    name = CleanStringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    code = CleanStringField(_l("Case-number prefix"), validators=[
        DataRequired(), Length(min=2, max=8),
        Regexp(r"^[A-Za-z0-9]+$", message=_l("Latin letters and digits only."))])
    active = BooleanField(_l("Active"), default=True)
    version = HiddenField()
    submit = SubmitField(_l("Save"))


class SafeSpaceForm(FlaskForm):
    """A safe space."""

    site = SelectField(_l("Site"), validators=[DataRequired()])
    name = CleanStringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    kind = SelectField(_l("Kind"), choices=[(k, KIND_LABELS[k]) for k in SAFE_SPACE_KINDS])
    opened_on = DateField(_l("Opened on"), validators=[Optional()])
    active = BooleanField(_l("Active"), default=True)
    version = HiddenField()
    submit = SubmitField(_l("Save"))


class ServiceForm(FlaskForm):
    """A service in the referral directory."""

    organisation = SelectField(_l("Organisation"), validators=[DataRequired()])
    name = CleanStringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    service_type = SelectField(_l("Service type"),
                               choices=[(t, SERVICE_TYPE_LABELS[t]) for t in SERVICE_TYPES])
    sites = SelectMultipleField(_l("Sites served"), validators=[Optional()])
    active = BooleanField(_l("Active"), default=True)
    version = HiddenField()
    submit = SubmitField(_l("Save"))


# Forms that create a record carry a one-time token (app.submissions): a retried POST shows the
# record the first one made instead of making another.

class NewUserForm(OneTimeSubmission, UserForm):
    """Create an account."""

    submission_kind = Action.USER_CREATE


class NewOrganisationForm(OneTimeSubmission, OrganisationForm):
    """Add an organisation."""

    submission_kind = Action.ORGANISATION_CREATE


class NewSiteForm(OneTimeSubmission, SiteForm):
    """Add a site."""

    submission_kind = Action.SITE_CREATE


class NewSafeSpaceForm(OneTimeSubmission, SafeSpaceForm):
    """Add a safe space."""

    submission_kind = Action.SAFE_SPACE_CREATE


class NewServiceForm(OneTimeSubmission, ServiceForm):
    """Add a service."""

    submission_kind = Action.SERVICE_CREATE


class GrantDecisionForm(FlaskForm):
    """Approve or refuse one pending grant; the version guards against deciding a stale copy."""

    version = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])


class UserFilterForm(FlaskForm):
    """Filters on the user list (GET, no personal data involved)."""

    class Meta:
        csrf = False

    role = SelectField(_l("Role"), validators=[Optional()],
                       choices=[("", _l("Any"))] + [(r.value, ROLE_LABELS[r]) for r in Role])
    status = SelectField(_l("Status"), choices=[("", _l("Any")), ("active", _l("Active")),
                                                ("inactive", _l("Inactive"))], validators=[Optional()])
    page = PageField()


class PledgeForm(OneTimeSubmission):
    """Publish a new version of the organisation's pledge (``after``: the version the page
    showed as current, so a version published meanwhile is never passed over unread)."""

    submission_kind = Action.PLEDGE_PUBLISH

    text_en = LongText(_l("Text in English"), validators=[
        DataRequired(message=_l("Write the text of the pledge.")),
        Length(max=PLEDGE_TEXT_MAX)], render_kw={"rows": 12})
    text_ar = LongText(_l("Text in Arabic (optional: the English text is shown otherwise)"),
                       validators=[Optional(), Length(max=PLEDGE_TEXT_MAX)],
                       render_kw={"rows": 12, "dir": "rtl", "lang": "ar"})
    after = HiddenField()
    submit = SubmitField(_l("Publish this version"))


class PledgeListForm(FlaskForm):
    """The page of the acceptance list."""

    class Meta:
        csrf = False

    page = PageField()
