"""Endpoints that answer a script, not a person: JSON in every case, never a page or a redirect.

A view marked ``@json_api`` (under its ``@require``) gets its refusals as JSON too: the guard
answers a request without a signed-in session with 401 and an account that must first do
something in the browser (its pledge, a passkey, a new password) with 403
(``app.auth.guard``), and the error handlers answer a bad CSRF token with 403 and every other
error with its status (``app.errors``), each as ``{"error": "<code>", "message": "<sentence>"}``
with ``Cache-Control: no-store``. A script can then tell "sign in again" from "try later"
without reading a login page as if it were data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, has_request_context, jsonify, request
from werkzeug.wrappers import Response

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "_amana_json_api"


def json_api(view: F) -> F:
    """Declare that a view answers JSON, refusals included."""
    setattr(view, _MARK, True)
    return view


def wanted() -> bool:
    """Whether this request's route is a ``@json_api`` view."""
    if not has_request_context() or request.url_rule is None:
        return False
    view = current_app.view_functions.get(request.url_rule.endpoint or "")
    return bool(getattr(view, _MARK, False))


def answer(body: dict[str, Any], status: int = 200) -> Response:
    """A JSON answer that no cache keeps."""
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


def error(status: int, code: str, message: object) -> Response:
    """A refusal: its code for the script, its sentence (translated) for the person."""
    return answer({"error": code, "message": str(message)}, status)
