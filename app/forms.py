"""Shared form pieces: text fields that refuse control characters, numbers read from query
strings (page numbers, paging keys) that stay within what the database can hold, and the
one-time submission token of forms that create records."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import ValidationError

if TYPE_CHECKING:
    from app.submissions.models import SubmissionToken
    from app.submissions.service import Submission

ALLOWED_CONTROL = {"\n", "\r", "\t"}


def no_control_characters(_form: Any, field: Field) -> None:
    """Refuse control and format characters that can hide or reorder text (except newlines)."""
    value = field.data or ""
    for ch in value:
        if ch in ALLOWED_CONTROL:
            continue
        category = unicodedata.category(ch)
        if category == "Cc" or (category == "Cf" and ch not in "\u200c\u200d"):
            raise ValidationError(_l("Remove invisible control characters."))


class _CleanText(Field):
    """Text as typed, trimmed; control characters refused."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        value: Any = getattr(self, "data", None)
        if isinstance(value, str):
            self.data = value.strip()

    def pre_validate(self, form: Any) -> None:
        no_control_characters(form, self)


class CleanStringField(_CleanText, StringField):
    """A single-line text field: trimmed, control characters refused."""


class LongText(_CleanText, TextAreaField):
    """Free text (notes, narratives): trimmed, control characters refused."""


# --- Numbers read from query strings (page numbers, paging keys) ---------------------------------

PAGE_MAX = 10_000          # 500,000 rows at fifty a page: more than any list here holds
BIGINT_MAX = 2 ** 63 - 1   # the largest key a PostgreSQL BIGINT (and SQLite INTEGER) can hold
_WHOLE = re.compile(r"^\+?[0-9]{1,19}$")  # ASCII digits only: int() would take "1_0", "١٠"


def parse_whole(text: object, minimum: int, maximum: int) -> int | None:
    """``text`` as a whole number within [minimum, maximum], or None (never raises)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not _WHOLE.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


class BoundedIntegerField(IntegerField):
    """A whole number from a query string, within bounds the database can hold.

    Anything else (too large, negative, a fraction, words, control characters) leaves ``data``
    as None and puts ``message`` on the field; an empty value is simply absent.
    """

    def __init__(self, label: Any = None, validators: Any = None, *, minimum: int = 0,
                 maximum: int = BIGINT_MAX, message: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.message = message or _l("Enter a whole number from %(min)d to %(max)d.",
                                     min=minimum, max=maximum)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist or not str(valuelist[0]).strip():
            return
        self.data = parse_whole(valuelist[0], self.minimum, self.maximum)
        if self.data is None:
            raise ValueError(str(self.message))


class PageField(BoundedIntegerField):
    """A page number (``?page=N``) from 1 to ``PAGE_MAX``; the lists fall back to page 1."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("message", _l("Page numbers run from 1 to %(max)d; the first page "
                                        "is shown.", max=PAGE_MAX))
        super().__init__(label, validators, minimum=1, maximum=PAGE_MAX, **kwargs)

    @property
    def page(self) -> int:
        """The page to show: the one asked for if valid, else the first."""
        return self.data if isinstance(self.data, int) and not self.errors else 1


class KeysetForm(FlaskForm):
    """Keyset paging keys of a list read newest first: ``?before=N`` or ``?after=N``."""

    class Meta:
        csrf = False  # a read in the query string

    before = BoundedIntegerField(minimum=0)
    after = BoundedIntegerField(minimum=0)


def fall_back(form: FlaskForm, *, announce: tuple[str, ...] = ("page",)) -> bool:
    """Validate a GET filter form; every refused value falls back to its field's default.

    The message stays on the field (shown beside it by the template); for fields the page does
    not show (``announce``, the page number) it is flashed instead. Returns whether all was valid.
    """
    ok = bool(form.validate())
    for field in form:
        if not field.errors:
            continue
        field.data = field.default() if callable(field.default) else field.default
        field.raw_data = None
        if field.name in announce:
            for message in field.errors:
                flash(str(message), "error")
    return ok


# --- One-time submission tokens (app.submissions) ------------------------------------------

class SubmissionTokenField(HiddenField):
    """The hidden one-time token of a form that creates a record. Only the first value sent
    counts, and nothing longer than a token is kept."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = str(valuelist[0])[:200] if valuelist else None


class OneTimeSubmission(FlaskForm):
    """A form whose POST creates a record: it carries a one-time submission token.

    Subclasses name ``submission_kind`` (the audit action of the create). The token is issued
    when the form is built for showing (not on a POST), bound to the user, the kind and
    ``context`` (the case, for records inside one). A view calls ``replayed()`` first: on a
    retry it gives the earlier claim, so the view shows that record instead of creating
    another; a token of another account, form or case answers 400. Validation refuses a
    missing or expired token (beside the form, with a fresh token to send again) and sets
    ``submission``, which the service claims in the create's transaction.
    """

    submission_kind: ClassVar[str] = ""
    submission_token = SubmissionTokenField()

    def __init__(self, *args: Any, context: uuid.UUID | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submission_context = context
        self.submission: Submission | None = None
        if not self.is_submitted():
            self._fresh_token()

    def issue_token(self) -> None:
        """Give the form a fresh one-time token although the request is a POST (a blank form
        on a page shown again because another of its forms was refused)."""
        self._fresh_token()

    def _fresh_token(self) -> None:
        from app.submissions.service import issue

        if current_user.is_authenticated:
            self.submission_token.data = issue(current_user.id, self.submission_kind,
                                               self.submission_context)

    def _read(self) -> Submission:
        from app.submissions.service import read

        return read(self.submission_token.data or "", current_user.id, self.submission_kind,
                    self.submission_context)

    def replayed(self) -> SubmissionToken | None:
        """On a POST with this form's token: the claim of an earlier POST of it (a retry), or
        None. A token that is not this user's for this form and context: a 400 page."""
        from app.submissions.service import Refused, prior, refuse

        if not self.is_submitted() or not self.submission_token.data:
            return None
        try:
            return prior(self._read())
        except Refused as exc:
            refuse(exc.reason)

    def validate_submission_token(self, field: Field) -> None:
        """A create needs its token, readable and within its lifetime."""
        from app.submissions.service import Refused, expired, lifetime

        try:
            submission = self._read()
        except Refused:
            self._fresh_token()
            raise ValidationError(_l("This form was sent without its one-time code, so nothing "
                                     "was saved. Check it and send it again.")) from None
        if expired(submission):
            self._fresh_token()
            hours = int(lifetime().total_seconds() // 3600)
            raise ValidationError(ngettext(
                "This form was opened more than %(num)d hour ago, so nothing was saved. Check "
                "that it was not saved already, then send it again.",
                "This form was opened more than %(num)d hours ago, so nothing was saved. Check "
                "that it was not saved already, then send it again.", hours))
        self.submission = submission
