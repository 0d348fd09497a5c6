"""Error pages in the base layout. They show a code and a plain message, never internals."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.config import ConfigError
from app.core import jsonapi
from app.db import db

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your account does not have access to this page.")),
    404: (_l("Not found"), _l("There is nothing here, or you do not have access to it.")),
    405: (_l("Not allowed"), _l("That action is not possible on this page.")),
    409: (_l("Changed by someone else"),
          _l("Someone else saved this record at the same moment. Nothing was saved: go back, "
             "check the record and try again.")),
    413: (_l("Too large"), _l("What you sent is larger than Amana accepts.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes before trying again.")),
    500: (_l("Something went wrong"),
          _l("Nothing was saved. Try again; if it keeps happening, tell your administrator.")),
}


CSRF_EXPIRED = _l("This form has expired or was not sent from Amana. Go back, reload the page "
                  "and try again.")


def _page(code: int, detail: str | None = None) -> tuple[str, int] | Response:
    """The error page, or for a script (``app.core.jsonapi``) the same as JSON."""
    title, message = MESSAGES.get(code, MESSAGES[500])
    if jsonapi.wanted():
        return jsonapi.error(code, f"http_{code}", detail or message)
    return render_template("errors/error.html", code=code, title=title,
                           message=detail or message), code


def register_error_handlers(app: Flask) -> None:
    """Render every expected error code in the base layout."""

    @app.errorhandler(CSRFError)
    def _csrf(_: CSRFError) -> tuple[str, int] | Response:
        if jsonapi.wanted():  # a script's request without its token: refused, not malformed
            return jsonapi.error(403, "csrf", CSRF_EXPIRED)
        return _page(400, str(CSRF_EXPIRED))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int] | HTTPException | Response:
        code = exc.code or 500
        if code not in MESSAGES:
            return exc
        return _page(code)

    @app.errorhandler(StaleDataError)
    def _lost_race(_: StaleDataError) -> tuple[str, int] | Response:
        # A save that lost the race to another and that its area did not turn into its own
        # message (``app.core.versioning.saving``): nothing was saved, and that is what to say.
        db.session.rollback()
        return _page(409)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int] | Response:
        # Whatever failed, its transaction must not be half-kept. The log line names the type
        # and request id only: exception messages can carry submitted values.
        db.session.rollback()
        from flask import g

        request_id = g.get("request_id")
        if isinstance(exc, ConfigError):
            # Amana's own one line for the operator (a key this host lacks, such as the KEK
            # another host's rotation made active): it names settings and files, never a value
            # anyone typed, and without it the log would not say what to fix.
            app.logger.error("unhandled %s (request %s): %s", exc.__class__.__name__, request_id,
                             exc.message)
        else:
            app.logger.error("unhandled %s (request %s)", exc.__class__.__name__, request_id)
        return _page(500)
