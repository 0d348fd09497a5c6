"""Forms for logging in, MFA, passwords and sessions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from app.auth.passwords import MAX_LENGTH
from app.forms import CleanStringField

# Generous caps: a password may be up to MAX_LENGTH characters after normalisation.
PASSWORD_CAP = MAX_LENGTH * 4


class LoginForm(FlaskForm):
    """Username and password."""

    username = CleanStringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_CAP)])
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class CodeForm(FlaskForm):
    """A six-digit TOTP code or a recovery code."""

    code = CleanStringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    submit = SubmitField(_l("Verify"))


class StepUpForm(Form):
    """The code field of the "Confirm it is you" page. A plain form: the page carries the
    action's own form (its CSRF and one-time tokens included) as hidden inputs, and the guard
    reads only this field (``app.auth.stepup.CODE_FIELD``)."""

    step_up_code = CleanStringField(_l("Code from your authenticator app"),
                                    validators=[Length(max=32)])


class EnrolForm(FlaskForm):
    """First code from the authenticator app, confirming enrolment."""

    code = CleanStringField(_l("Code from your app"), validators=[DataRequired(), Length(max=16)])
    submit = SubmitField(_l("Confirm"))


class ChangePasswordForm(FlaskForm):
    """Change one's own password."""

    current = PasswordField(_l("Current password"),
                            validators=[DataRequired(), Length(max=PASSWORD_CAP)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=PASSWORD_CAP)])
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new", _l("The two new passwords differ."))])
    submit = SubmitField(_l("Change password"))


class ResetPasswordForm(FlaskForm):
    """Set a new password with a reset token from an administrator."""

    # Read out by an admin (app/auth/codes.py): typed left to right, in capitals on a phone.
    token = CleanStringField(_l("Reset code"), validators=[DataRequired(), Length(max=64)],
                             render_kw={"dir": "ltr", "autocapitalize": "characters",
                                        "spellcheck": "false"})
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=PASSWORD_CAP)])
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new", _l("The two new passwords differ."))])
    submit = SubmitField(_l("Set password"))


class ActionForm(FlaskForm):
    """A button that only carries the CSRF token (logout, quick-lock, end session)."""

    submit = SubmitField(_l("Confirm"))


class PledgeForm(FlaskForm):
    """Accept the organisation's pledge: an explicit tick (never ticked beforehand) for the
    version shown (``number``), then on to where the person was going (``next``)."""

    accept = BooleanField(_l("I have read this pledge and I accept it"), validators=[
        DataRequired(message=_l("Tick the box to accept the pledge, or log out."))])
    number = HiddenField()
    next = HiddenField()
    submit = SubmitField(_l("Accept and continue"))


class PasskeyLabelForm(FlaskForm):
    """Start registering a passkey: the holder's own name for the device."""

    label = CleanStringField(
        _l("Name of this passkey"), validators=[DataRequired(), Length(max=60)],
        description=_l("A short name that tells your devices apart, such as \"work laptop\". "
                       "Never a survivor's name."))
    submit = SubmitField(_l("Add a passkey"))


class PasskeyAnswerForm(FlaskForm):
    """The browser's answer to a passkey challenge, filled in by app/static/js/passkey.js."""

    label = HiddenField()
    answer = HiddenField(validators=[DataRequired(), Length(max=16_384)])
