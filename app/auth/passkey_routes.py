"""Passkey pages: signing in with one (after the password), and one's own passkeys under
*My account* (list, register, remove). On the ``auth`` blueprint; the rules are in
``app.auth.passkeys``. The browser's side is ``app/static/js/passkey.js``: it reads the options
from the page, asks the authenticator, puts the answer in a hidden field and posts the form.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import passkey_keys, passkeys, sessions
from app.auth.forms import ActionForm, PasskeyAnswerForm, PasskeyLabelForm
from app.auth.guard import safe_next
from app.auth.policy import authenticated
from app.auth.routes import _address_limit, bp
from app.auth.stepup import step_up
from app.extensions import limiter


@bp.post("/mfa/passkey")
@authenticated
@limiter.limit(_address_limit)
def mfa_passkey() -> str | Response:
    """Second step with a passkey: the browser's signed answer to the MFA page's challenge."""
    row = sessions.current()
    if row is None:
        abort(404)
    if row.mfa_at is not None:
        return redirect(url_for("main.home"))
    form = PasskeyAnswerForm()
    if not form.validate_on_submit():
        flash(_("The passkey was not accepted. Try again, or ask an administrator for help."),
              "error")
        return redirect(url_for("auth.mfa"))
    refused, ended = passkeys.sign_in(row.user, form.answer.data or "")
    if ended:
        flash(_("Too many wrong codes. Log in again later."), "error")
        return redirect(url_for("auth.login"))
    if refused is not None:
        flash(str(refused), "error")
        return redirect(url_for("auth.mfa"))
    return redirect(safe_next(session.pop("next", None)) or url_for("main.home"))


@bp.get("/passkeys")
@authenticated
def passkey_list() -> str:
    """One's own passkeys (name, added, last used), with a form to add one and to remove each."""
    passkey_keys.record_view(current_user)
    return render_template("auth/passkeys.html", rows=passkeys.of(current_user),
                           form=PasskeyLabelForm(), action_form=ActionForm(),
                           required=passkeys.required(current_user),
                           must_register=passkeys.must_register(sessions.current()))


@bp.post("/passkeys/new")
@authenticated
def passkey_new() -> str | Response:
    """Start registering: a challenge for this session, and the page that asks the browser.
    Nothing is kept before the answer, which comes back to ``passkey_add``."""
    form = PasskeyLabelForm()
    if not form.validate_on_submit():
        return render_template("auth/passkeys.html", rows=passkeys.of(current_user), form=form,
                               action_form=ActionForm(),
                               required=passkeys.required(current_user),
                               must_register=passkeys.must_register(sessions.current()))
    answer = PasskeyAnswerForm(formdata=None, label=form.label.data)
    return render_template("auth/passkey_new.html", form=answer, label=form.label.data,
                           options=passkeys.register_options(current_user))


@bp.post("/passkeys/add")
@authenticated
@step_up
def passkey_add() -> Response:
    """Keep the passkey the browser made (after a fresh second factor: a stolen session cannot
    add its own passkey)."""
    form = PasskeyAnswerForm()
    if not form.validate_on_submit() or not (form.label.data or "").strip():
        abort(400)
    try:
        passkey_keys.register(current_user, form.label.data or "", form.answer.data or "")
    except passkey_keys.PasskeyError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("auth.passkey_list"))
    flash(_("The passkey has been added."), "info")
    return redirect(url_for("auth.passkey_list"))


@bp.post("/passkeys/<uuid:passkey_id>/remove")
@authenticated
@step_up
def passkey_remove(passkey_id: uuid.UUID) -> Response:
    """Remove one of one's own passkeys."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        passkey_keys.remove(current_user, passkey_id)
    except LookupError:
        abort(404)
    except passkey_keys.PasskeyError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("auth.passkey_list"))
    flash(_("The passkey has been removed."), "info")
    return redirect(url_for("auth.passkey_list"))
