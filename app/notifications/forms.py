"""The notification list's page number (``?page=N``)."""

from __future__ import annotations

from flask_wtf import FlaskForm

from app.forms import PageField


class ListForm(FlaskForm):
    """``?page=N`` of the list."""

    class Meta:
        csrf = False

    page = PageField()
