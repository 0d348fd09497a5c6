"""Single sign-on pages (on the ``auth`` blueprint): the start, which sends the browser to the
OpenID provider, and the return from it. Both are public (no session yet) and limited per
client address like the login form.

The session cookie is ``SameSite=Strict``, so a browser does not send it on the provider's
redirect back (a navigation started by another site) nor on a redirect that follows it. The
sign-in is therefore bound to the browser by a cookie of its own (``BINDING_COOKIE``:
``SameSite=Lax``, ``HttpOnly``, for the return's path only, ten minutes), and the return
answers with a page rather than a redirect: its "Continue" link (followed at once by a
``<meta http-equiv="refresh">``, no script) is a navigation from our own page, which carries
the new session cookie to the next step.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth import oidc, oidc_service, sessions
from app.auth.guard import safe_next
from app.auth.routes import _address_limit, bp
from app.extensions import limiter

BINDING_COOKIE = "amana-sso"
# The page the person was sent to sign in from (a local path, ``safe_next``), kept for the
# callback only; never more than that path.
NEXT_COOKIE = "amana-sso-next"
CALLBACK_PATH = "/auth/oidc/callback"


def _redirect_uri() -> str:
    return url_for("auth.oidc_callback", _external=True)


def provider_name() -> str:
    """What the sign-in button calls the provider."""
    return str(current_app.config.get("OIDC_NAME") or _("your organisation's account"))


@bp.get("/oidc/start")
@limiter.limit(_address_limit)
def oidc_start() -> Response:
    """Send the browser to the provider with a new one-time request."""
    if not oidc.configured():
        flash(_("Single sign-on is not set up here. Log in with your username and password."),
              "info")
        return redirect(url_for("auth.login"))
    row = sessions.current()
    if row is not None:
        return redirect(url_for("main.home") if row.mfa_at else url_for("auth.mfa"))
    try:
        url, binding = oidc_service.begin(_redirect_uri())
    except oidc.OidcRefused:
        flash(_("The sign-in service cannot be reached now. Try again later, or log in with "
                "your username and password."), "error")
        return redirect(url_for("auth.login"))
    resp = redirect(url)
    cookies = {"max_age": oidc_service.REQUEST_MINUTES * 60, "path": CALLBACK_PATH,
               "secure": current_app.config["SESSION_COOKIE_SECURE"], "httponly": True,
               "samesite": "Lax"}
    resp.set_cookie(BINDING_COOKIE, binding, **cookies)
    if target := safe_next(request.args.get("next")):
        resp.set_cookie(NEXT_COOKIE, target, **cookies)
    return resp


@bp.get("/oidc/callback")
@limiter.limit(_address_limit)
def oidc_callback() -> str | Response | tuple[str, int]:
    """The provider's answer: refused (a page that says so, audited) or signed in."""
    if not request.args:
        return redirect(url_for("auth.login"))  # opened by hand: nothing to check
    if not oidc.configured():
        abort(404)
    try:
        done = oidc_service.finish(request.args, request.cookies.get(BINDING_COOKIE),
                                   _redirect_uri())
    except oidc.OidcRefused:
        page = render_template("auth/oidc_refused.html")
        resp = current_app.make_response((page, 400))
    else:
        after = safe_next(request.cookies.get(NEXT_COOKIE))
        if after and not done.second_factor_done:
            session["next"] = after  # the second step goes there (as after a password)
        target = ((after or url_for("main.home")) if done.second_factor_done
                  else url_for("auth.mfa_enrol") if done.user.mfa_enrolled_at is None
                  else url_for("auth.mfa"))
        resp = current_app.make_response(render_template("auth/oidc_continue.html",
                                                         target=target))
    for name in (BINDING_COOKIE, NEXT_COOKIE):
        resp.delete_cookie(name, path=CALLBACK_PATH,
                           secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                           samesite="Lax")
    return resp


bp.add_app_template_global(oidc.configured, "sso_configured")
bp.add_app_template_global(provider_name, "sso_provider_name")
