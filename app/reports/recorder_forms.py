"""The Incident Recorder export form: which years, which file, and a fresh second factor (the
authenticator's code, or a passkey's signed answer)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, RadioField, SelectField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from app.auth import passkeys
from app.forms import CleanStringField
from app.reports import recorder, recorder_export

ALL_YEARS = "all"


def _offered(form: Any, field: Field) -> None:
    if field.data not in {code for code, _label in field.choices or []} or not field.data:
        raise ValidationError(str(_l("Choose a year from the list, or all years.")))


class RecorderForm(FlaskForm):
    """The export's filter and format, and the code or passkey confirming it (never shown
    back)."""

    year = SelectField(_l("Incidents reported in"), validate_choice=False,
                       validators=[DataRequired(_l("Choose a year from the list, or all years.")),
                                   _offered])
    file_format = RadioField(_l("File"), choices=[
        (recorder_export.XLSX, _l("Excel workbook (XLSX)")),
        (recorder_export.CSV, _l("CSV (text, for any spreadsheet or statistics program)"))],
        validators=[InputRequired(_l("Choose the kind of file."))])
    code = CleanStringField(_l("Code from your authenticator app"), validators=[Length(max=32)])
    passkey = HiddenField(validators=[Length(max=passkeys.MAX_ANSWER)])
    submit = SubmitField(_l("Download"))

    def validate_code(self, field: Field) -> None:
        """A code is needed unless a passkey answered; an account that must use its passkey
        is told so rather than asked for a code."""
        if self.passkey.data or (field.data or "").strip():
            return
        if not passkeys.codes_allowed(current_user):
            raise ValidationError(str(passkeys.CODES_NOT_ACCEPTED))
        raise ValidationError(str(_l("Type the six-digit code your authenticator app shows now.")))

    def offer_years(self, this_year: int) -> None:
        """The choices: a blank "Choose…", all years, then the recent years, newest first."""
        self.year.choices = [("", str(_l("Choose…"))), (ALL_YEARS, str(_l("All years")))] + [
            (str(y), str(y)) for y in recorder.years_offered(this_year)]

    def request(self) -> recorder_export.RecorderRequest:
        """The validated form as a request to the export."""
        year = None if self.year.data == ALL_YEARS else int(self.year.data)
        return recorder_export.RecorderRequest(recorder.Period(year), str(self.file_format.data),
                                               str(self.code.data or ""),
                                               str(self.passkey.data or ""))
