"""Uploading sealed field envelopes (on ``app.field.routes.bp``): the device's script asks
``GET /field/sync`` whether a session is live (and for its CSRF token), then posts its waiting
envelopes to ``POST /field/sync`` and forgets those answered ``accepted`` or ``duplicate``.

Both answer JSON only (``app.core.jsonapi``): a request without a signed-in session gets 401, a
bad CSRF token 403, a body that is not ``{"envelopes": [...]}`` 400, more than
``MAX_ENVELOPES`` 400, too many uploads 429; never a page or a redirect. The rules are in
``app.field.sync``.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from limits import parse
from werkzeug.wrappers import Response

from app.auth.policy import Permission, require
from app.core import jsonapi
from app.core.jsonapi import json_api
from app.extensions import limiter
from app.field import settings, sync
from app.field.routes import bp
from app.security import larger_body

_LIMIT_NAMESPACE = "field-sync"

MESSAGES = {
    sync.ACCEPTED: _l("Received. It waits for you under Field intakes."),
    sync.DUPLICATE: _l("Received already. It waits for you under Field intakes."),
    sync.MALFORMED: _l("This record is damaged and cannot be received. Record the intake again "
                       "if you can."),
    sync.OTHER_USER: _l("This record was saved under another account. Sign in with the account "
                        "that recorded it to send it."),
    sync.UNKNOWN_KEY: _l("This record was sealed with a key that is no longer accepted. Record "
                         "the intake again after preparing this device again."),
    sync.TAMPERED: _l("This record was changed after it was saved and cannot be received."),
}


def _expired_message() -> str:
    days = settings.max_age_days()
    return str(ngettext(
        "This record is older than %(num)d day, or dated in the future (check the device's "
        "date and time), and cannot be received. Record the intake again.",
        "This record is older than %(num)d days, or dated in the future (check the device's "
        "date and time), and cannot be received. Record the intake again.", days))


def _shown(result: sync.Result) -> dict[str, Any]:
    code = result.reason or result.status
    message = _expired_message() if code == sync.EXPIRED else str(MESSAGES[code])
    return {"sid": result.sid, "status": result.status, "reason": result.reason,
            "message": message}


@bp.get("/sync")
@require(Permission.CASE_CREATE)
@json_api
def sync_status() -> Response:
    """Whether a session is live: the account's id (the device checks its envelopes are bound
    to it), a CSRF token for the upload, and how many intakes wait for review. Never cached."""
    return jsonapi.answer({"user_id": str(current_user.id), "csrf_token": generate_csrf(),
                           "pending": sync.pending_count(current_user)})


def _refused(status: int, code: str, message: object) -> Response:
    """A whole upload refused (audited, nothing read from it)."""
    sync.refusal(current_user, None, code)
    return jsonapi.error(status, code, message)


@bp.post("/sync")
@require(Permission.CASE_CREATE)
@json_api
@larger_body("FIELD_SYNC_MAX_BYTES", slack=0)
def sync_upload() -> Response:
    """Receive the device's envelopes: one answer per envelope, in order."""
    user = current_user._get_current_object()  # the account itself, for the service
    if not limiter.limiter.hit(parse(settings.sync_limit()), _LIMIT_NAMESPACE, str(user.id)):
        return _refused(429, "sync_limit", _l(
            "Many uploads in a short time: sending is paused for a few minutes. Nothing is "
            "lost: the records wait on this device."))
    body = request.get_json(silent=True) if request.is_json else None
    envelopes = body.get("envelopes") if isinstance(body, dict) else None
    if not isinstance(envelopes, list):
        return _refused(400, sync.MALFORMED, _l(
            "This upload could not be read. Nothing was received."))
    if len(envelopes) > settings.MAX_ENVELOPES:
        return _refused(400, "too_many", _l(
            "Too many records in one upload. Nothing was received: send them in smaller "
            "batches."))
    results = sync.receive(user, envelopes)
    return jsonapi.answer({"results": [_shown(r) for r in results]})
