"""Field intake pages: the offline form's shell in each language, its setup (the organisation's
intake key) and its service worker. Synced envelopes are answered by ``sync_routes``; pending
intakes are reviewed in ``review_routes`` (both on this blueprint).

The shell is cached on the device by the service worker (``app/static/js/field-sw.js``), so it
carries nothing about the person who opened it: no name, no CSRF token, no session data. What
it needs per person (the user id the envelopes are bound to, the organisation's public key) is
in ``setup.json``, which the worker also keeps, and which holds no secret.
"""

from __future__ import annotations

import base64
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import force_locale
from flask_login import current_user
from werkzeug.wrappers import Response as Redirect

from app.audit.actions import Action, ObjectType
from app.audit.service import read
from app.auth.policy import Permission, require
from app.field import settings, shell
from app.field.keys import active_key
from app.i18n import RTL_LANGUAGES, select_locale

bp = Blueprint("field", __name__, url_prefix="/field")

#: The languages a shell is served in (each one cached on the device).
SHELL_LANGUAGES = ("en", "ar")
WORKER = Path(__file__).resolve().parent.parent / "static" / "js" / "field-sw.js"


@bp.get("/")
@require(Permission.CASE_CREATE)
def index() -> Redirect:
    """Field intake, in the user's language."""
    lang = select_locale()
    return redirect(url_for("field.shell_page", lang=lang if lang in SHELL_LANGUAGES else "en"))


@bp.get("/shell/<lang>")
@require(Permission.CASE_CREATE)
def shell_page(lang: str) -> str:
    """The offline form, in ``lang`` whatever the session's language (both are cached)."""
    if lang not in SHELL_LANGUAGES:
        abort(404)
    with force_locale(lang):
        return render_template("field/shell.html", **shell.context(lang),
                               shell_lang=lang,
                               shell_dir="rtl" if lang in RTL_LANGUAGES else "ltr")


@bp.get("/setup.json")
@require(Permission.CASE_CREATE)
def setup() -> Response:
    """What a device needs to seal intakes for this user: the user id the envelopes are bound
    to and the organisation's intake public key (made on first use). Audited."""
    key = active_key(current_user.organisation_id)
    read(Action.FIELD_PREPARE, ObjectType.INTAKE_KEY, key.id)
    public = base64.urlsafe_b64encode(bytes(key.public_key)).rstrip(b"=").decode("ascii")
    return jsonify({
        "user_id": str(current_user.id),
        "key": {"id": str(key.id), "public_key": public},
        "max_age_days": settings.max_age_days(),
        "shells": {code: url_for("field.shell_page", lang=code) for code in SHELL_LANGUAGES},
    })


@bp.get("/sw.js")
@require(Permission.CASE_CREATE)
def worker() -> Response:
    """The service worker (scope ``/field/``): it keeps the shells, the page's script and
    style, and the setup for offline use, and nothing else."""
    return current_app.response_class(WORKER.read_bytes(), mimetype="text/javascript")

