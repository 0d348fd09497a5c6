"""What the offline form's shell shows, built in the page's language (``force_locale``).

Every rule the browser checks before sealing comes from the fields' own declarations: WTForms
renders ``required``, ``maxlength``, ``min`` and ``max`` from the validators; the flags whose
name starts with ``data_`` (``NotInFuture``'s ``data_not_future``, ``MustBe``'s
``data_must_be``) are rendered here as ``data-`` attributes, each with the validator's own
message, so the browser shows the same sentence the server would, in the page's language.
Nothing here depends on who asked: the page is cached on the device.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.cases import gbvims
from app.cases.forms import NotInFuture
from app.field.forms import FieldIntakeForms, MustBe
from app.localtime import user_zone_name

#: One sample count per plural category (CLDR names, as ``Intl.PluralRules`` gives them): the
#: page's script picks the sentence for a count by its category.
PLURAL_SAMPLES = {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 11, "other": 100}


def _fields(forms: FieldIntakeForms) -> Iterator[Any]:
    for form in (forms.person, forms.consent, forms.incident, forms.urgency):
        for f in form:
            if f.type == "FieldList":
                for entry in f:
                    yield from entry.form
            else:
                yield f


def _message(validator: Any, default: str, **values: Any) -> str:
    """The validator's own message, else ``default``; ``values`` fill its placeholders."""
    message = validator.message if getattr(validator, "message", None) is not None else default
    return str(message) % values if values else str(message)


def field_attributes(f: Any) -> dict[str, Any]:
    """The ``data-`` attributes of one field: its ``data_`` flags and the messages the browser
    shows for each rule it declares (in the current language)."""
    attrs: dict[str, Any] = {}
    for name in dir(f.flags):
        if name.startswith("data_"):
            value = getattr(f.flags, name)
            attrs[name] = value if value is not True else "true"
    for v in f.validators:
        if isinstance(v, InputRequired | DataRequired):
            attrs["data_required_message"] = _message(v, _("This field is required."))
        elif isinstance(v, Length) and v.max not in (None, -1):
            attrs["data_maxlength_message"] = _message(
                v, _("Enter at most %(max)d characters."), max=v.max)
        elif isinstance(v, NumberRange):
            attrs["data_range_message"] = _message(
                v, _("Enter a number from %(min)s to %(max)s."), min=v.min, max=v.max)
        elif isinstance(v, NotInFuture):
            attrs["data_not_future_message"] = str(v.MESSAGE)
        elif isinstance(v, MustBe):
            attrs["data_must_be_message"] = str(v.message)
    if f.type in ("RadioField",) and "data_required_message" in attrs:
        attrs["required"] = True  # each choice of the group: one answer is required
    if f.type in ("IntegerField", "DateField", "TimeField"):
        attrs["data_format_message"] = _("Enter a valid value.")
    return attrs


def plural(singular: str, plural_: str) -> dict[str, str]:
    """One sentence per plural category, ``{n}`` where the count goes."""
    return {f"data-{cat}": ngettext(singular, plural_, n, count="{n}")
            for cat, n in PLURAL_SAMPLES.items()}


def context(lang: str) -> dict[str, Any]:
    """The shell template's values, in the current (forced) language."""
    forms = FieldIntakeForms(None)
    attributes = {f.name: field_attributes(f) for f in _fields(forms)}
    other = "ar" if lang == "en" else "en"
    texts = {
        "data-saved": _("Saved and sealed. It cannot be read on this device; the form is empty."),
        "data-refused": _("Please correct the highlighted fields. Nothing was saved."),
        "data-not-ready": _("Open this page once while connected and signed in, so it can "
                            "work without a connection."),
        "data-no-seal": _("This browser cannot seal the form. Nothing was saved."),
        "data-sign-in": _("Sign in to send"),
        "data-sending": _("Sending…"),
        "data-offline": _("No connection: the saved intakes will be sent when you are online "
                          "and signed in."),
        "data-failed": _("Sending failed. The saved intakes stay on this device; try again."),
        "data-done": _("All sent. They wait for you under Field intakes."),
        "data-refused-list": _("Refused by the server and removed from this device:"),
        "data-setup-url": url_for("field.setup"),
        "data-sync-url": url_for("field.index") + "sync",
        "data-worker-url": url_for("field.worker"),
        "data-scope": url_for("field.index"),
        "data-login-url": url_for("auth.login", next=url_for("field.index")),
    }
    return {
        "forms": forms,
        "attributes": attributes,
        "classification": gbvims.CLASSIFICATION,
        "zone_name": user_zone_name(),
        "other_lang": other,
        "other_shell": url_for("field.shell_page", lang=other),
        "texts": texts,
        "waiting": plural("%(count)s intake waiting to send", "%(count)s intakes waiting to send"),
        "others": plural("%(count)s belongs to another account on this device",
                         "%(count)s belong to another account on this device"),
        # {date}: when the first of them stops being accepted (AMANA_FIELD_INTAKE_MAX_AGE_DAYS)
        "ageing": plural("%(count)s intake must be sent before {date}: after that the server "
                         "refuses it.",
                         "%(count)s intakes must be sent before {date}: after that the server "
                         "refuses them."),
        "too_old": plural("%(count)s intake is too old to be received and will be refused: "
                          "record it again.",
                          "%(count)s intakes are too old to be received and will be refused: "
                          "record them again."),
    }
