"""Print views: a page made to be printed (``print_base.html``: the print stylesheet,
"Confidential" on every sheet), never kept by the browser or a proxy (``no-store``)."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from werkzeug.wrappers import Response

from app.clock import utcnow


def printable(template: str, **context: Any) -> Response:
    """``template`` (extending ``print_base.html``) rendered with the time it was printed, in a
    response no cache keeps."""
    response = make_response(render_template(template, printed_at=utcnow(), **context))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
