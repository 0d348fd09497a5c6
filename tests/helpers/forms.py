"""What a browser sends back with a form: its CSRF token, one-time submission token and the
other hidden inputs."""

from __future__ import annotations

import re
import uuid

from flask import Flask

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
TOKEN_RE = re.compile(r'name="((?:[\w-]+-)?(?:csrf|submission)_token)" (?:type="hidden" )?'
                      r'value="([^"]+)"')
FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    found = CSRF_RE.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def form_tokens(html: str, action: str | None = None) -> dict[str, str]:
    """The hidden tokens a browser sends with a form: its CSRF token and, on a form that
    creates a record, its one-time submission token (``app.submissions``), under the form's
    field names (``follow_up-…`` for a prefixed form). ``action`` picks the form posting there
    when a page has several (the case page); by default the page's first form with a one-time
    token, else its first form."""
    forms = [body for attrs, body in FORM_RE.findall(html)
             if action is None or f'action="{action}"' in attrs]
    assert forms, f"no form posting to {action} on the page"
    body = next((b for b in forms if "submission_token" in b), forms[0])
    tokens = dict(TOKEN_RE.findall(body))
    assert tokens, "no CSRF token in the form"
    return tokens


def hidden_inputs(html: str, action: str | None = None) -> dict[str, str]:
    """Every hidden input (CSRF token, version, one-time token...) of a page, or of its form
    posting to ``action``: what a browser sends back unchanged."""
    if action is not None:
        form = re.search(r'<form[^>]*action="' + re.escape(action) + r'".*?</form>', html, re.S)
        assert form, f"no form posting to {action}"
        html = form.group(0)
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                found[name.group(1)] = value.group(1) if value else ""
    return found


def mint_token(app: Flask, user_id: str, kind: str, context: str | None = None) -> str:
    """A one-time token as the app issues it with a form, for a POST a test makes without
    opening a page that shows that form (the server must refuse it for another reason)."""
    from app.submissions.service import issue

    with app.app_context():
        return issue(uuid.UUID(user_id), kind, uuid.UUID(context) if context else None)


SIGNED_TOKEN_RE = re.compile(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}")


def comparable(html: str, **placeholders: str) -> str:
    """A page as two requests can be compared: without its per-request script nonce and its
    CSRF tokens (signed with the second they were made in, so two pages a second apart differ
    there), and with each given value (an id or typed text the page echoes) replaced by the name
    it is passed under: ``comparable(html, ID=record_id)``."""
    html = re.sub(r'nonce="[^"]*"', "", html)
    html = SIGNED_TOKEN_RE.sub("TOKEN", html)
    for name, value in placeholders.items():
        html = html.replace(value, name)
    return html
