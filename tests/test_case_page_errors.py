"""A refused form of the case page comes back on the case page: its messages beside its fields
(linked for screen readers), what was typed kept, nothing saved, and the page's other forms
still usable (each with its own fresh one-time token).

And the error summary above a form links to each field to correct, by its label (or, for a
question whose field has no label of its own, by the question the page shows).
"""

from __future__ import annotations

import re
import uuid
from html import unescape

from flask import render_template_string
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, InputRequired

from app.cases.models import Case, CaseNote, ConsentRecord, FollowUp
from app.db import db
from tests.helpers.error_links import link_problems
from tests.helpers.forms import form_tokens, hidden_inputs


def _count(app, model, case_id: str) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model).where(
            model.case_id == uuid.UUID(case_id))).scalar_one())


def _tag(html: str, name: str, tag: str = "input") -> str:
    found = re.search(rf'<{tag}[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    assert found, f"no {tag} named {name}"
    return found.group(0)


def _case_page(c, cid: str) -> str:
    page = c.get(f"/cases/{cid}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_an_empty_note_comes_back_beside_its_field_and_the_page_still_works(app, auth, world):
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    notes, visits = _count(app, CaseNote, cid), _count(app, FollowUp, cid)
    html = _case_page(c, cid)
    note_url, visit_url = f"/cases/{cid}/notes", f"/cases/{cid}/follow-ups"
    sent = form_tokens(html, note_url)
    r = c.post(note_url, data={**sent, "body": "   "})
    assert r.status_code == 200, "the refused note did not come back on the case page"
    again = r.get_data(as_text=True)
    assert 'id="notes"' in again and 'id="workflow"' in again  # the whole case page
    body = _tag(again, "body", "textarea")
    assert 'aria-invalid="true"' in body and 'aria-describedby="body-error-1"' in body
    assert 'id="body-error-1"' in again
    assert '<a href="#body">Note (sealed)</a>' in again  # the summary links to the field
    assert link_problems(again)[1] == []
    assert _count(app, CaseNote, cid) == notes
    # The other forms were drawn blank, each with a fresh one-time token of its own.
    visit = form_tokens(again, visit_url)
    assert visit["follow_up-submission_token"] != form_tokens(html, visit_url)[
        "follow_up-submission_token"]
    r = c.post(visit_url, data={**visit, "follow_up-due_on": "2026-12-24"})
    assert r.status_code == 302
    assert _count(app, FollowUp, cid) == visits + 1
    # The note re-shown kept its own token: sent again, answered, it is saved once.
    kept = form_tokens(again, note_url)
    assert kept["submission_token"] == sent["submission_token"]
    r = c.post(note_url, data={**kept, "body": "Second try NOTE-OK-4"})
    assert r.status_code == 302
    assert _count(app, CaseNote, cid) == notes + 1


def test_a_refused_follow_up_keeps_what_was_typed(app, auth, world):
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    visits = _count(app, FollowUp, cid)
    url = f"/cases/{cid}/follow-ups"
    r = c.post(url, data={**form_tokens(_case_page(c, cid), url),
                          "follow_up-due_on": "2026-02-30",
                          "follow_up-notes": "Bring the papers FU-KEEP-7"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    due = _tag(html, "follow_up-due_on")
    assert 'aria-invalid="true"' in due and "follow_up-due_on-error-1" in due
    assert 'value="2026-02-30"' in due
    assert "Bring the papers FU-KEEP-7" in html
    assert 'href="#follow_up-due_on"' in html
    assert link_problems(html)[1] == []
    assert _count(app, FollowUp, cid) == visits


def test_a_refused_consent_opens_its_form_with_the_messages(app, auth, world):
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    before = _count(app, ConsentRecord, cid)
    url = f"/cases/{cid}/consent"
    r = c.post(url, data={**form_tokens(_case_page(c, cid), url), "kind": "", "given_by": "survivor",
                          "method": "written"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    section = html[html.index('id="consent"'):html.index('id="referrals"')
                   if 'id="referrals"' in html else None]
    assert re.search(r"<details open>", section), "the consent form stays folded"
    assert 'aria-invalid="true"' in _tag(section, "kind", "select")
    assert 'id="granted-group"' in section and 'aria-describedby="granted-error-1"' in section
    assert 'href="#granted-0"' in section  # the summary leads to the first choice
    assert re.search(r'<option selected value="written">|<option value="written" selected>',
                     section)
    assert link_problems(html)[1] == []
    assert _count(app, ConsentRecord, cid) == before


def _set_status(app, cid: str, status: str) -> None:
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(cid))
        assert case is not None
        with db.session.no_autoflush:
            case.status = status
        db.session.commit()


def _status(app, cid: str) -> str:
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(cid))
        assert case is not None
        return str(case.status)


def test_a_refused_closure_request_keeps_the_details(app, auth, world):
    cid = world.ids["case_own"]
    _set_status(app, cid, "follow_up")
    c = auth.login("caseworker")
    url = f"/cases/{cid}/closure"
    r = c.post(url, data={**hidden_inputs(_case_page(c, cid), url), "reason": "no-such-reason",
                          "details": "She moved away CLOSE-KEEP-2"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'aria-invalid="true"' in _tag(html, "reason", "select")
    assert "She moved away CLOSE-KEEP-2" in html
    assert re.search(r"<details open><summary>Request closure", html)
    assert link_problems(html)[1] == []
    assert _status(app, cid) == "follow_up"


def test_a_refused_reopening_comes_back_beside_its_field(app, auth, world):
    cid = world.ids["case_own"]
    _set_status(app, cid, "closed")
    c = auth.login("caseworker")
    url = f"/cases/{cid}/reopen"
    r = c.post(url, data={**hidden_inputs(_case_page(c, cid), url), "reason": "",
                          "details": "New incident REOPEN-KEEP-3"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'aria-invalid="true"' in _tag(html, "reason", "select")
    assert "New incident REOPEN-KEEP-3" in html
    assert link_problems(html)[1] == []
    assert _status(app, cid) == "closed"


def test_an_impossible_status_comes_back_beside_the_field(app, auth, world):
    cid = world.ids["case_own"]
    c = auth.login("caseworker")
    before = _status(app, cid)
    url = f"/cases/{cid}/status"
    r = c.post(url, data={**hidden_inputs(_case_page(c, cid), url), "to_status": "nonsense"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'aria-invalid="true"' in _tag(html, "to_status", "select")
    assert link_problems(html)[1] == []
    assert _status(app, cid) == before


class _Questions(FlaskForm):
    class Meta:
        csrf = False

    name = StringField("Your name", validators=[DataRequired()])
    answer = RadioField(choices=[("yes", "Yes"), ("no", "No")], validators=[InputRequired()])
    fine = StringField("Fine")


SUMMARY = ('{% from "macros/forms.html" import errors_summary %}'
           '{{ errors_summary(form, labels={"answer": "1. Was it forced?"}) }}')


def test_the_error_summary_links_to_each_field_by_its_label(app):
    with app.test_request_context(method="POST", data={"fine": "x"}):
        form = _Questions()
        assert not form.validate()
        html = render_template_string(SUMMARY, form=form)
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', html)
    assert links == [("name", "Your name"), ("answer-0", "1. Was it forced?")]
    assert 'role="alert"' in html


def test_the_error_summary_shows_nothing_for_a_form_without_errors(app):
    with app.test_request_context():
        html = render_template_string(SUMMARY, form=_Questions(formdata=None))
    assert "error-summary" not in html


def test_the_incident_summary_names_each_question_as_the_page_asks_it(app, auth, world):
    from app.cases.gbvims import CLASSIFICATION

    c = auth.login("caseworker")
    url = f"/cases/{world.ids['case_own']}/incidents/new"
    r = c.post(url, data=form_tokens(c.get(url).get_data(as_text=True)))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    summary = html[html.index('class="error-summary"'):html.index("</div>",
                                                                  html.index("error-summary"))]
    first = CLASSIFICATION[0]
    assert f'<a href="#{first.key}-0">1. {first.text}</a>' in unescape(summary)
    assert link_problems(html)[1] == []
