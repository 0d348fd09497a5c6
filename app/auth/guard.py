"""The one gate every request passes before its view runs.

Order: public endpoints pass; otherwise a live session is needed; a session without MFA
reaches only the MFA step; an account that must change its password reaches only that; an
account whose role must use passkeys and signed in without one reaches only the passkey pages
(``passkeys.PASSKEY_ENDPOINTS``); an
account whose organisation published a pledge it has not accepted reaches only the pledge
(``pledge.PLEDGE_ENDPOINTS``); then the view's declared rule is checked against the role. A
view with no rule is refused. Last, a POST to a dangerous action (``@step_up``,
``app.auth.stepup``) needs a second-factor proof within ``STEP_UP_MINUTES``, or the code in
this request; otherwise it answers with the "Confirm it is you" page and the view does not run.
A script's endpoint (``app.core.jsonapi``) gets JSON instead of every redirect: 401 without a
signed-in session, 403 when the account must first go to one of those pages.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import Flask, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import passkeys, sessions, stepup
from app.auth.forms import StepUpForm
from app.auth.models import AuthSession
from app.auth.pledge import PLEDGE_ENDPOINTS
from app.auth.policy import (
    AUTHENTICATED,
    MFA_STEP_ENDPOINTS,
    PUBLIC_ENDPOINTS,
    Permission,
    can,
    rule_for,
)
from app.core import jsonapi
from app.db import db
from app.extensions import login_manager

PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "auth.lock"})
TIMEOUT_REASONS = frozenset({"idle_timeout", "absolute_timeout"})


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a local path (no scheme, no host, no backslash tricks), else None."""
    if not target or len(target) > 2000:
        return None
    decoded = unquote(target)
    for candidate in (target, decoded):
        if not candidate.startswith("/") or candidate.startswith("//"):
            return None
        if "\\" in candidate or any(ord(c) < 32 or ord(c) == 127 for c in candidate):
            return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def deny(reason: str) -> None:
    """Record a refused request and answer 403."""
    record(Action.ACCESS_DENIED, object_type=ObjectType.ENDPOINT, object_id=request.endpoint,
           outcome=Outcome.DENIED, reason=reason)
    db.session.commit()
    abort(403)


def _to_login() -> Response:
    if jsonapi.wanted():
        return jsonapi.error(401, "signed_out", _("Sign in to Amana again, then try again."))
    target = None
    if request.method == "GET":
        target = safe_next(request.full_path.rstrip("?"))
    return redirect(url_for("auth.login", next=target))


def _to_pledge() -> Response:
    """The pledge first: a GET comes back to its page after accepting; anything else is not
    done (the view never runs) and the person is told so on the pledge page."""
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("auth.pledge", next=safe_next(request.full_path.rstrip("?"))))
    flash(_("Nothing was saved: read and accept your organisation's pledge first."), "error")
    return redirect(url_for("auth.pledge"), code=303)


def _to_passkeys() -> Response:
    """A role that must use passkeys, signed in without one: register one first (a GET is sent
    to the passkey page; anything else is not done)."""
    if request.method not in ("GET", "HEAD"):
        flash(_("Nothing was saved: your organisation requires a passkey for your role. "
                "Register one first."), "error")
    return redirect(url_for("auth.passkey_list"), code=303)


def _script_refused() -> Response | None:
    """For a script (``@json_api``) of an account that must first go to a page (a new
    password, a passkey, the pledge): a 403 saying so (nothing done; the next page opened in
    the browser leads there). None for a page request, which is sent there."""
    if not jsonapi.wanted():
        return None
    return jsonapi.error(403, "account_action_needed", _(
        "Open Amana in the browser: your account needs something done there first."))


def check_request() -> Response | str | None:
    """Decide whether this request may reach its view."""
    endpoint = request.endpoint
    if endpoint == "static":
        return None
    row, ended = sessions.load()
    if ended in TIMEOUT_REASONS:
        # The session is over; the audit row says why, attributed to its owner.
        record(Action.AUTH_SESSION_TIMEOUT, object_type=ObjectType.SESSION, reason=ended)
        db.session.commit()
        if endpoint not in PUBLIC_ENDPOINTS:
            flash(_("Your session ended because it was inactive or too long. Please log in again."),
                  "info")
    elif ended is not None:
        db.session.commit()
    if endpoint is None:
        db.session.commit()
        return None  # routing failed: the 404/405 handler answers, in the user's layout
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    if row is None:
        return _to_login()
    if row.mfa_at is None:
        if endpoint in MFA_STEP_ENDPOINTS:
            return None
        return _to_login() if jsonapi.wanted() else redirect(url_for("auth.mfa"))
    g.user_id = row.user_id  # the request's log line names the account by its id only
    if row.user.must_change_password and endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return _script_refused() or redirect(url_for("auth.change_password"))
    if passkeys.must_register(row) and endpoint not in passkeys.PASSKEY_ENDPOINTS:
        return _script_refused() or _to_passkeys()
    if row.user.pledge_pending and endpoint not in PLEDGE_ENDPOINTS:
        return _script_refused() or _to_pledge()
    view = current_app.view_functions.get(endpoint)
    rule = rule_for(view)
    if rule is None:
        deny("no_rule")
    elif rule != AUTHENTICATED and not (isinstance(rule, Permission) and can(row.user, rule)):
        deny("role")
    if db.session.dirty or db.session.new or db.session.deleted:
        # Keep last_seen_at (touched at most every ``sessions.TOUCH_EVERY``). A commit with
        # nothing to write would only expire every loaded object (the session row, the user,
        # their sites and organisation), each read again by the view; the read transaction
        # stays open into the view, which commits its own audit event.
        db.session.commit()
    if stepup.applies(view):  # after authorization: a stranger gets 403, never this page
        return _step_up(row)
    return None


def _step_up(row: AuthSession) -> Response | str | None:
    """A dangerous action (``@step_up``): go on when the session proved its second factor within
    the window or proves it now (this request's code); otherwise answer with the "Confirm it is
    you" page, which carries the posted fields back to the same action, and change nothing."""
    if stepup.is_fresh(row):
        return None
    form = StepUpForm(request.form)
    if stepup.CODE_FIELD in request.form or request.form.get(passkeys.STEP_UP_FIELD):
        user = row.user
        refused = passkeys.confirm(user, request.form)
        if refused is None:
            return None  # fresh from now: the action runs in this request
        if refused.session_ended:
            flash(_("Too many wrong codes: you have been logged out. Try again later."), "error")
            return redirect(url_for("auth.login"))
        form.step_up_code.errors = [str(refused.message)]
        form.step_up_code.data = ""
    carried = [(name, value) for name, value in request.form.items(multi=True)
               if name not in (stepup.CODE_FIELD, passkeys.STEP_UP_FIELD)]
    return render_template("auth/step_up.html", form=form, carried=carried,
                           codes_allowed=passkeys.codes_allowed(row.user),
                           passkey_options=passkeys.sign_options(row.user),
                           passkey_field=passkeys.STEP_UP_FIELD,
                           action=request.full_path.rstrip("?"),
                           minutes=current_app.config["STEP_UP_MINUTES"])


def install_guard(app: Flask) -> None:
    """Register the guard and tell Flask-Login where the user comes from."""
    login_manager.session_protection = None  # our own sessions do this job
    login_manager.login_view = "auth.login"

    @login_manager.request_loader
    def _user_from_session(_request: object) -> object:
        row = g.get("auth_session")
        return row.user if row is not None and row.mfa_at is not None else None

    @login_manager.user_loader
    def _never(_user_id: str) -> None:
        return None  # ids are never kept in the cookie

    app.before_request(check_request)
