"""Every error message a form shows is linked to its field for screen readers.

Each role opens every form page of the authorization matrix it may open (and the public
pages), and submits every form on it empty, as a person pressing the button without answering
would: hidden inputs (CSRF token, version, one-time token) as the page gave them, every text
field and select blank, no radio button or checkbox chosen. On each page that comes back with
errors:

- every error message has an id, and some form control (or the fieldset of a radio or checkbox
  group) names it in ``aria-describedby``, so a screen reader reads it with the field; a
  message of the whole form (no single field) is announced instead (``role="alert"``);
- what names an error message is ``aria-invalid="true"`` (for a group, each of its choices);
- nothing is ``aria-invalid`` without naming an error message that is on the page;
- each link of an error summary leads to a field on the page that is ``aria-invalid``.

The case page's own forms (status, consent, follow-up, note) come back on the case page with
their errors, like any other form, not as a message after a redirect (``MUST_RESHOW``).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.authz_matrix import MATRIX, PUBLIC, ROLES, Row
from tests.helpers.error_links import ATTR_RE, CONTROLS, Tag, link_problems, tags_of
from tests.helpers.routes import fill_path

ANONYMOUS = "anonymous"
FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
# Forms of a page that must come back with their errors (a redirect would skip the check).
MUST_RESHOW = {"caseworker": ["/cases/{id:case_own} → POST /cases/{case_own}/status",
                              "/cases/{id:case_own} → POST /cases/{case_own}/consent",
                              "/cases/{id:case_own} → POST /cases/{case_own}/follow-ups",
                              "/cases/{id:case_own} → POST /cases/{case_own}/notes"]}


def _empty_submission(form_attrs: str, body: str, page_url: str) -> tuple[str, dict[str, str]] | None:
    """Where an empty submission of this form goes and what it sends, or None for a form
    with nothing to answer (a button alone: log out, lock, language, accept)."""
    attrs = dict(ATTR_RE.findall(form_attrs))
    if (attrs.get("method") or "get").lower() != "post":
        return None
    data: dict[str, str] = {}
    answerable = False
    button: Tag | None = None
    for tag in tags_of(body):
        kind = tag.attrs.get("type", "text" if tag.name == "input" else "submit").lower()
        name = tag.attrs.get("name")
        if tag.name == "button" or (tag.name == "input" and kind == "submit"):
            if kind == "submit" and button is None:
                button = tag
            continue
        if tag.name not in CONTROLS or not name or "disabled" in tag.attrs:
            continue
        if kind == "hidden":
            data[name] = tag.attrs.get("value", "")
            continue
        answerable = True
        if kind not in ("radio", "checkbox"):
            data[name] = ""
    if not answerable:
        return None
    action = attrs.get("action") or page_url
    if button is not None:
        action = button.attrs.get("formaction") or action
        if button.attrs.get("name"):
            data[button.attrs["name"]] = button.attrs.get("value", "")
    return urlsplit(urljoin(page_url, action)).path, data


def _pages(role: str) -> list[str]:
    """The matrix's GET rows ``role`` may open, with a real record (no random ids)."""
    if role == ANONYMOUS:
        return [PUBLIC["auth.login"], PUBLIC["auth.reset_password"]]
    rows: list[Row] = [r for r in MATRIX if r.method == "GET" and role in r.allowed
                       and "{uuid:" not in r.path and r.ok & {200}]
    return [r.path for r in rows]


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_every_form_error_is_linked_to_its_field(role, app, world, auth):
    client = app.test_client() if role == ANONYMOUS else auth.login(role)
    checked: list[str] = []
    problems: list[str] = []
    shown = 0
    for pattern in _pages(role):
        url = fill_path(pattern, app, world, None if role == ANONYMOUS else role)
        page = client.get(url)
        if page.status_code != 200 or page.mimetype != "text/html":
            continue
        html = page.get_data(as_text=True)
        for form_attrs, body in FORM_RE.findall(html):
            sent = _empty_submission(form_attrs, body, url)
            if sent is None:
                continue
            action, data = sent
            resp = client.post(action, data=data)
            if resp.mimetype != "text/html" or resp.status_code >= 300:
                continue
            count, found = link_problems(resp.get_data(as_text=True))
            where = f"{pattern} → POST {urlsplit(action).path}"
            if role != ANONYMOUS:
                where = where.replace(world.ids.get("case_own", "?"), "{case_own}")
            checked.append(where)
            shown += count
            problems.extend(f"{where}: {p}" for p in found)
    print(f"{role}: {len(checked)} forms re-shown, {shown} error messages", *checked, sep="\n  ")
    assert not problems, "\n".join(problems)
    assert checked, f"{role}: no form came back with its errors"
    missing = [w for w in MUST_RESHOW.get(role, []) if w not in checked]
    assert not missing, f"{role}: these forms did not come back with their errors: {missing}"
    assert shown > 0


def test_the_scan_sees_a_broken_link():
    """The scanner itself: an error no field names, an invalid field naming nothing."""
    html = ('<div class="field"><p class="error-message" id="x-error-1">Wrong.</p>'
            '<input name="x" id="x"></div>'
            '<input name="y" aria-invalid="true">'
            '<fieldset aria-describedby="z-error-1" aria-invalid="true">'
            '<p class="error-message" id="z-error-1">Choose.</p>'
            '<input type="radio" name="z" value="a"></fieldset>')
    html += ('<div class="error-summary" role="alert"><ul><li><a href="#x">X</a></li>'
             '<li><a href="#gone">Gone</a></li></ul></div>')
    count, problems = link_problems(html)
    assert count == 2
    assert "the error summary links to #x, which is not invalid" in problems
    assert "the error summary links to #gone, not on the page" in problems
    assert "#x-error-1: no field names it in aria-describedby" in problems
    assert "a input named 'y' is aria-invalid but names no error message" in problems
    assert "#z-error-1: its group's choices are not aria-invalid" in problems


# Filter forms (GET): a value that cannot be read comes back beside its field too.
BAD_FILTERS = [
    ("wgss_coordinator", "/safe-spaces/{safe_space}/summary", {"month": "2026-13"}),
    ("wgss_coordinator", "/safe-spaces/{safe_space}/sessions", {"month": "not a month"}),
    ("auditor", "/audit/events", {"since": "yesterday", "outcome": "nonsense"}),
]


@pytest.mark.parametrize(("role", "path", "query"), BAD_FILTERS)
def test_filter_errors_are_linked_to_their_fields(role, path, query, app, world, auth):
    client = auth.login(role)
    resp = client.get(path.format(**world.ids), query_string=query)
    assert resp.status_code == 200
    count, problems = link_problems(resp.get_data(as_text=True))
    assert count >= 1, "the bad filter was not pointed out"
    assert problems == []
