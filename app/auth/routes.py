"""Login, MFA, logout and quick-lock, one's own password and sessions. Views stay thin."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth import passkeys, service, sessions
from app.auth import pledge as pledges
from app.auth.forms import (
    ActionForm,
    ChangePasswordForm,
    CodeForm,
    EnrolForm,
    LoginForm,
    PasskeyAnswerForm,
    PledgeForm,
    ResetPasswordForm,
)
from app.auth.guard import safe_next
from app.auth.mfa import provisioning_uri, qr_svg
from app.auth.models import User
from app.auth.policy import authenticated
from app.extensions import limiter
from app.forms import parse_whole
from app.i18n import use_account_language

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _address_limit() -> str:
    return str(current_app.config["LOGIN_ADDRESS_LIMIT"])


def _pending_user() -> User:
    row = sessions.current()
    if row is None:
        abort(404)
    return row.user


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def login() -> str | Response:
    """Username and password; success leads to the MFA step."""
    row = sessions.current()
    if row is not None:
        return redirect(url_for("main.home") if row.mfa_at else url_for("auth.mfa"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        result = service.attempt_login(form.username.data or "", form.password.data or "")
        if result.outcome is service.LoginOutcome.OK:
            target = safe_next(form.next.data)
            if target:
                session["next"] = target
            return redirect(url_for("auth.mfa_enrol" if result.needs_enrolment else "auth.mfa"))
        flash(_("Those details did not work. Check them and try again. After several failed "
                "attempts, wait %(m)d minutes.", m=current_app.config["LOGIN_LOCKOUT_MINUTES"]),
              "error")
        form.password.data = ""
    return render_template("auth/login.html", form=form)


def _after_mfa() -> Response:
    return redirect(safe_next(session.pop("next", None)) or url_for("main.home"))


@bp.route("/mfa", methods=["GET", "POST"])
@authenticated
@limiter.limit(_address_limit, methods=["POST"])
def mfa() -> str | Response:
    """Second step: a code from the authenticator app or a recovery code."""
    user = _pending_user()
    row = sessions.current()
    if row is not None and row.mfa_at is not None:
        return redirect(url_for("main.home"))
    if user.mfa_enrolled_at is None:
        return redirect(url_for("auth.mfa_enrol"))
    form = CodeForm()
    codes_allowed = passkeys.codes_allowed(user)
    if form.validate_on_submit():
        if not codes_allowed:
            passkeys.refuse_code(user)
            flash(str(passkeys.CODES_NOT_ACCEPTED), "error")
            return redirect(url_for("auth.mfa"))
        ok, ended = service.verify_code(user, form.code.data or "")
        if ok:
            return _after_mfa()
        if ended:
            flash(_("Too many wrong codes. Log in again later."), "error")
            return redirect(url_for("auth.login"))
        flash(_("That code was not accepted. Codes work once, within their 30 seconds."), "error")
    return render_template("auth/mfa.html", form=form, codes_allowed=codes_allowed,
                           passkey_options=passkeys.sign_options(user),
                           passkey_form=PasskeyAnswerForm(formdata=None))


@bp.route("/mfa/enrol", methods=["GET", "POST"])
@authenticated
@limiter.limit(_address_limit, methods=["POST"])
def mfa_enrol() -> str | Response:
    """First login: set up the authenticator app, then show the recovery codes once."""
    user = _pending_user()
    if user.mfa_enrolled_at is not None:
        return redirect(url_for("auth.mfa"))
    secret = service.pending_secret(user)
    form = EnrolForm()
    if form.validate_on_submit():
        codes, ended = service.confirm_enrolment(user, form.code.data or "")
        if codes is not None:
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next_url=safe_next(session.pop("next", None))
                                   or url_for("main.home"))
        if ended:
            flash(_("Too many wrong codes. Log in again later."), "error")
            return redirect(url_for("auth.login"))
        flash(_("That code was not accepted. Check the time on your phone and try the next code."),
              "error")
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/enrol.html", form=form, secret=grouped)


@bp.get("/mfa/qr.svg")
@authenticated
def mfa_qr() -> Response:
    """The enrolment QR code as an SVG image (only while enrolment is pending)."""
    user = _pending_user()
    if user.mfa_enrolled_at is not None:
        abort(404)
    secret = service.pending_secret(user)
    return Response(qr_svg(provisioning_uri(user, secret)), mimetype="image/svg+xml")


@bp.post("/logout")
@authenticated
def logout() -> Response:
    """End this session."""
    if ActionForm().validate_on_submit():
        service.logout("logout")
        flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/lock")
@authenticated
def lock() -> Response:
    """Quick-lock: end the session at once (for a shared device)."""
    if ActionForm().validate_on_submit():
        service.logout("quick_lock")
    return redirect(url_for("auth.login"))


@bp.post("/keepalive")
@authenticated
def keepalive() -> Response:
    """'Stay signed in' from the idle warning: the guard already refreshed the session."""
    ActionForm().validate_on_submit()
    return Response(status=204)


@bp.route("/password", methods=["GET", "POST"])
@authenticated
def change_password() -> str | Response:
    """Change one's own password (other sessions end)."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        found = service.change_password(current_user, form.current.data or "", form.new.data or "")
        if not found:
            flash(_("Your password has been changed. Your other sessions have ended."), "info")
            return redirect(url_for("main.home"))
        if found == ["current"]:
            form.current.errors = [_("That is not your current password.")]
        else:
            form.new.errors = found
    return render_template("auth/change_password.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def reset_password() -> str | Response:
    """Set a new password with a reset code from an administrator (the code is typed, never in a URL)."""
    form = ResetPasswordForm()
    if form.validate_on_submit():
        use_account_language(service.reset_account_language(form.token.data or ""))
        done, found = service.reset_password(form.token.data or "", form.new.data or "")
        if done:
            if g.get("account_language"):
                session["lang"] = g.account_language  # the login page that follows speaks it too
            flash(_("Your password has been set. Log in with it now."), "info")
            return redirect(url_for("auth.login"))
        if found:
            form.new.errors = found
        else:
            form.token.errors = [_("This reset code is not valid: it may be used or expired.")]
    return render_template("auth/reset.html", form=form)


@bp.get("/sessions")
@authenticated
def my_sessions() -> str:
    """The user's own live sessions, each of which can be ended."""
    service.record_sessions_view(current_user)
    current = sessions.current()
    return render_template("auth/sessions.html", rows=sessions.live_sessions(current_user.id),
                           current_id=current.id if current else None, form=ActionForm(),
                           remaining=service.remaining_recovery_codes(current_user))


@bp.post("/sessions/<uuid:session_id>/end")
@authenticated
def end_session(session_id: uuid.UUID) -> Response:
    """End one of one's own sessions (ending the current one logs out)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    current = sessions.current()
    if current is not None and current.id == session_id:
        service.logout("logout")
        return redirect(url_for("auth.login"))
    if not service.end_own_session(current_user, session_id):
        abort(404)
    flash(_("That session has ended."), "info")
    return redirect(url_for("auth.my_sessions"))


@bp.post("/recovery-codes")
@authenticated
def regenerate_codes() -> str:
    """Replace the recovery codes (the old ones stop working)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    codes = service.regenerate_recovery_codes(current_user)
    return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("main.home"))


@bp.route("/pledge", methods=["GET", "POST"])
@authenticated
def pledge() -> str | Response:
    """The organisation's confidentiality pledge: read it, and accept its current version
    before any other page (the guard sends every page here until then); afterwards it stays
    here to be read again. Declining is logging out."""
    form = PledgeForm()
    shown = pledges.pledge_for(current_user)
    target = safe_next(request.args.get("next") if request.method == "GET" else form.next.data)
    if request.method == "GET":
        audit.read(Action.PLEDGE_VIEW, ObjectType.PLEDGE, shown.id if shown else None)
        form.next.data = target or ""
        form.number.data = str(shown.number) if shown else ""
    elif shown is None:
        return redirect(target or url_for("main.home"))
    elif form.validate_on_submit():
        try:
            pledges.accept(current_user, parse_whole(form.number.data, 1, 10**9))
        except pledges.PledgeRefused as exc:
            flash(str(exc), "error")
            return redirect(url_for("auth.pledge", next=target))
        flash(_("Thank you: your acceptance of the pledge is recorded."), "info")
        return redirect(target or url_for("main.home"))
    accepted = (pledges.accepted_at(current_user, shown)
                if shown is not None and not current_user.pledge_pending else None)
    return render_template("auth/pledge.html", form=form, pledge=shown, accepted=accepted,
                           text=shown.text_in(str(get_locale())) if shown else None)
