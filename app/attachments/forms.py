"""The form that attaches a file to a case (multipart; a one-time token bound to the case)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import DataRequired, Length, Optional

from app.attachments.labels import KIND_CHOICES
from app.attachments.service import NewAttachment
from app.audit.actions import Action
from app.cases.labels import CHOOSE
from app.forms import CleanStringField, OneTimeSubmission

DESCRIPTION_MAX = 500


class AttachmentForm(OneTimeSubmission):
    """Attach a file: what it is (a kind, chosen: nothing pre-chosen), the file, and an optional
    description (sealed). The file's type is checked by the service from its content."""

    submission_kind = Action.ATTACHMENT_UPLOAD

    kind = SelectField(_l("What is this file?"), choices=[("", CHOOSE), *KIND_CHOICES],
                       validators=[DataRequired(message=_l("Answer this question."))])
    file = FileField(_l("File (PDF, JPEG or PNG)"),
                     validators=[FileRequired(message=_l("Choose the file to attach."))])
    description = CleanStringField(_l("Description (optional, sealed; no names)"),
                                   validators=[Optional(), Length(max=DESCRIPTION_MAX)])

    def command(self) -> NewAttachment:
        """The attachment asked for (call after ``validate``); reads the whole file."""
        stream = self.file.data
        return NewAttachment(kind=self.kind.data or "", data=stream.read() if stream else b"",
                             original_name=(getattr(stream, "filename", "") or "")[:255],
                             description=self.description.data or None)
