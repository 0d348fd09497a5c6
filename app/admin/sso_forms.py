"""Forms of single sign-on administration: an organisation's settings, an account's subject."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.forms import CleanStringField


class SsoSettingsForm(FlaskForm):
    """Whether the organisation's accounts may sign in through the provider, and whether the
    provider's second factor stands for Amana's."""

    enabled = BooleanField(_l("Accounts of this organisation may sign in with single sign-on"))
    trust_mfa = BooleanField(
        _l("Trust the provider's second factor instead of asking Amana's"),
        description=_l("Off unless you are sure the provider asks every person for a second "
                       "factor. When on, a sign-in whose ID token shows one of the values below, "
                       "made at the provider in the last few minutes, skips Amana's code."))
    mfa_amr = CleanStringField(
        _l("amr values that count as a second factor"), validators=[Length(max=200)],
        description=_l("Separated by spaces, for example: mfa otp hwk. Empty: the usual ones."))
    mfa_acr = CleanStringField(
        _l("acr value that counts as a second factor"), validators=[Length(max=200)],
        description=_l("Optional: the provider's name for a sign-in with a second factor."))
    version = HiddenField()
    submit = SubmitField(_l("Save"))


class SubjectForm(FlaskForm):
    """Link an account to its subject at the provider (typed exactly, never guessed)."""

    # Not a CleanStringField: a subject is kept exactly as the provider spells it (the service
    # refuses spaces at its ends and control characters, ``oidc_service.clean_subject``).
    subject = StringField(_l("Subject at the provider (sub)"),
                          validators=[DataRequired(), Length(max=255)],
                          description=_l("The account's stable identifier at the provider, as "
                                         "the provider's administrator gives it. Never an email "
                                         "address that could be given to someone else."))
    submit = SubmitField(_l("Link"))
