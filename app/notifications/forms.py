"""The notification list's page number (``?page=N``), and the email setting."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SubmitField
from wtforms.validators import ValidationError

from app.forms import CleanStringField, PageField
from app.notifications.email import ADDRESS_MAX, valid_address


class ListForm(FlaskForm):
    """``?page=N`` of the list."""

    class Meta:
        csrf = False

    page = PageField()


class EmailForm(FlaskForm):
    """Whether to be emailed when there are new items, and where."""

    notify = BooleanField(_l("Email me when there are new items"))
    address = CleanStringField(_l("Email address"), render_kw={
        "dir": "ltr", "autocomplete": "email", "inputmode": "email", "spellcheck": "false",
        "maxlength": ADDRESS_MAX})
    submit = SubmitField(_l("Save"))

    def validate_address(self, field: Field) -> None:
        """Required when the box is ticked; one plain address when given."""
        value = field.data or ""
        if not value:
            if self.notify.data:
                raise ValidationError(_l("Give the address to send the email to."))
            return
        if len(value) > ADDRESS_MAX:
            raise ValidationError(_l("An email address is at most %(num)d characters.",
                                     num=ADDRESS_MAX))
        if not valid_address(value):
            raise ValidationError(_l("This is not an email address: write it as name@example.org, "
                                     "one address only."))
