"""The shared template macros: form fields name their hint and errors for assistive technology,
and the one pager keeps a list's filters in its links."""

from __future__ import annotations

import re

from flask import render_template_string
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired

from tests.helpers.forms import csrf_from


def _input(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert found, f"no input named {name}"
    return found.group(0)


def test_login_error_is_linked_to_its_input(client):
    page = client.get("/auth/login")
    assert 'aria-invalid' not in page.get_data(as_text=True)
    r = client.post("/auth/login", data={"username": "", "password": "",
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="username-error-1"' in html
    tag = _input(html, "username")
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="username-error-1"' in tag


class _Form(FlaskForm):
    class Meta:
        csrf = False

    code = StringField("Code", validators=[DataRequired()])


def test_field_names_hint_and_every_error(app):
    with app.test_request_context("/", method="POST", data={"code": ""}):
        form = _Form()
        assert not form.validate()
        form.code.errors = [*form.code.errors, "A second problem."]
        html = render_template_string(
            '{% from "macros/forms.html" import field %}{{ field(form.code, hint="Six digits.") }}',
            form=form)
    tag = _input(html, "code")
    assert 'aria-describedby="code-hint code-error-1 code-error-2"' in tag
    assert 'aria-invalid="true"' in tag
    for id_ in ("code-hint", "code-error-1", "code-error-2"):
        assert f'id="{id_}"' in html
    with app.test_request_context("/"):
        html = render_template_string(
            '{% from "macros/forms.html" import field %}{{ field(form.code, hint="Six digits.") }}',
            form=_Form())
    tag = _input(html, "code")
    assert 'aria-describedby="code-hint"' in tag and "aria-invalid" not in tag


class _Filters(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Status", choices=[("", "Any"), ("open", "Open")])
    sort = SelectField("Sort", choices=[("-opened", "Newest"), ("number", "Number")])


def test_pager_keeps_filters_and_shows_only_real_pages(app):
    source = ('{% from "macros/pagination.html" import pager %}'
              '{{ pager("admin.users", keep, previous=prev, next=nxt, next_label=label) }}')
    with app.test_request_context("/?status=open&sort=number&page=2"):
        from flask import request
        form = _Filters(request.args)
        html = render_template_string(source, keep=form, prev={"page": 1}, nxt={"page": 3},
                                      label=None)
        links = re.findall(r'href="([^"]*)">([^<]*)<', html)
        assert links == [("/admin/users?status=open&amp;sort=number&amp;page=1", "Previous"),
                         ("/admin/users?status=open&amp;sort=number&amp;page=3", "Next")]
        html = render_template_string(source, keep={"user_id": "u1"}, prev=None,
                                      nxt={"before": 7}, label="Older")
        assert re.findall(r'href="([^"]*)">([^<]*)<', html) == [
            ("/admin/users?user_id=u1&amp;before=7", "Older")]
        html = render_template_string(source, keep=_Filters(), prev=None, nxt=None, label=None)
        assert "href" not in html and 'class="pagination"' in html
