"""Shared form pieces: text fields that refuse control characters and cap their length."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import ValidationError

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


class CleanStringField(StringField):
    """A single-line text field: trimmed, control characters refused."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        value: Any = getattr(self, "data", None)
        if isinstance(value, str):
            self.data = value.strip()

    def pre_validate(self, form: Any) -> None:
        no_control_characters(form, self)


class LongText(TextAreaField):
    """Free text (notes, narratives): trimmed, control characters refused."""

    def pre_validate(self, form: Any) -> None:
        no_control_characters(form, self)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        value: Any = getattr(self, "data", None)
        if isinstance(value, str):
            self.data = value.strip()
