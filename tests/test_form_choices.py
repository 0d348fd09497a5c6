"""Radio buttons and checkboxes from ``field()``: one fieldset per question with the question as
its legend, each choice's label right after its own input, and errors linked for screen
readers (the group names them; each choice is aria-invalid)."""

from __future__ import annotations

import re

from flask import render_template_string
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectMultipleField
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

MACRO = '{% from "macros/forms.html" import field %}'


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _Form(FlaskForm):
    class Meta:
        csrf = False

    answer = RadioField("Was there penetration?", choices=[("yes", "Yes"), ("no", "No")],
                        validators=[InputRequired()])
    who = _Checkboxes("Facilitators", choices=[("a", "Amal"), ("b", "Bushra")],
                      validators=[InputRequired()])
    approximate = BooleanField("The date is approximate")


def _render(app, template: str, data: dict[str, str] | None = None) -> str:
    with app.test_request_context("/", method="POST" if data is not None else "GET",
                                  data=data or {}):
        form = _Form()
        if data is not None:
            form.validate()
        return render_template_string(MACRO + template, form=form)


def _choices(html: str) -> list[tuple[str, str]]:
    """(input tag, label tag) of each choice, in order."""
    return re.findall(r'<div class="choice">(<input[^>]*>) (<label[^>]*>[^<]*</label>)</div>', html)


def test_a_radio_group_is_a_fieldset_with_its_question_as_legend(app):
    html = _render(app, "{{ field(form.answer, legend='1. Was there penetration?') }}")
    assert re.search(r'<fieldset class="field choices" id="answer-group" role="radiogroup" '
                     r'aria-labelledby="answer-legend">', html)
    assert '<legend id="answer-legend">1. Was there penetration?</legend>' in html
    pairs = _choices(html)
    assert [re.search(r'value="(\w+)"', i).group(1) for i, _l in pairs] == ["yes", "no"]
    for tag, label in pairs:
        input_id = re.search(r'id="([^"]+)"', tag).group(1)
        assert f'for="{input_id}"' in label  # the label right after its own input
        assert "aria-invalid" not in tag
    assert "aria-describedby" not in html


def test_a_radio_groups_errors_are_named_by_the_group(app):
    html = _render(app, "{{ field(form.answer) }}", data={})
    assert '<legend id="answer-legend">Was there penetration?</legend>' in html
    assert 'id="answer-error-1"' in html
    group = re.search(r"<fieldset[^>]*>", html).group(0)
    assert 'aria-describedby="answer-error-1"' in group and 'aria-invalid="true"' in group
    assert 'field-error' in group
    assert all('aria-invalid="true"' in tag for tag, _l in _choices(html))


def test_checkboxes_are_a_group_and_a_single_checkbox_sits_before_its_label(app):
    html = _render(app, "{{ field(form.who) }}{{ field(form.approximate) }}", data={})
    group = re.search(r'<fieldset[^>]*id="who-group"[^>]*>', html).group(0)
    assert "radiogroup" not in group and 'aria-describedby="who-error-1"' in group
    assert "<legend id=\"who-legend\">Facilitators</legend>" in html
    pairs = _choices(html)
    assert len(pairs) == 3
    assert all('type="checkbox"' in tag for tag, _l in pairs)
    assert all('aria-invalid="true"' in tag for tag, _l in pairs[:2])
    single, label = pairs[2]
    assert 'name="approximate"' in single and 'for="approximate"' in label
