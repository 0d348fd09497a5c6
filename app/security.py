"""Response hardening: only the configured host names are served, a per-request CSP nonce,
security headers and no-store caching; and a development server that does not announce its
software versions.

Host names: a request whose ``Host`` is not in ``ALLOWED_HOSTS`` (``AMANA_ALLOWED_HOSTS``) gets
400 before anything else runs, so nothing built from the request's host (Werkzeug's redirect for
``//`` paths, an external URL) can carry a forged one. Production requires the setting:
``wsgi.py`` refuses to start without it, and an app built without it refuses every request.
Flask's own ``TRUSTED_HOSTS`` is not used: its refusal happens before a URL adapter exists, so
the error page in the layout cannot be built and the answer becomes a 500.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Flask, Request, Response, abort, current_app, g, request
from werkzeug.serving import WSGIRequestHandler

from app.config import ConfigError

STATIC_MAX_AGE = 3600
#: The policy of a file download (``sandboxed``): nothing runs, nothing loads, no framing.
SANDBOXED = "default-src 'none'; sandbox; frame-ancestors 'none'"
_BODY_LIMIT = "_amana_body_limit"
F = TypeVar("F", bound=Callable[..., Any])


def larger_body(setting: str, slack: int = 64 * 1024) -> Callable[[F], F]:
    """Let one view take a request body up to the setting ``setting`` (bytes) plus ``slack``
    (the form's other fields) instead of ``MAX_CONTENT_LENGTH``: a file upload. Only a view
    marked so gets it (``LimitedRequest``), so no other route's limit can widen."""

    def mark(view: F) -> F:
        setattr(view, _BODY_LIMIT, (setting, slack))
        return view

    return mark


class LimitedRequest(Request):
    """Flask's request, whose body limit is the matched view's own when it declares one
    (``larger_body``) and ``MAX_CONTENT_LENGTH`` otherwise (unmatched routes included)."""

    @property
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        if self.url_rule is None or not current_app:
            return limit
        view = current_app.view_functions.get(self.url_rule.endpoint)
        own: tuple[str, int] | None = getattr(view, _BODY_LIMIT, None)
        return int(current_app.config[own[0]]) + own[1] if own else limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)  # type: ignore[attr-defined]  # Flask's own setter


def sandboxed(response: Response) -> Response:
    """Give a file download the strictest policy (``SANDBOXED``), kept by ``install_security``."""
    response.headers["Content-Security-Policy"] = SANDBOXED
    return response


def csp_nonce() -> str:
    """The nonce of this request's Content-Security-Policy (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def _csp() -> str:
    return "; ".join((
        "default-src 'none'",
        f"script-src 'nonce-{csp_nonce()}'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",  # the field intake's service worker (/field/sw.js) only
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ))


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether ``host`` (a ``Host`` header value, port and case ignored) is one of ``allowed``;
    an entry with a leading dot also allows every subdomain."""
    name = host.strip().lower()
    name = name.partition("]")[0] + "]" if name.startswith("[") else name.partition(":")[0]
    name = name.rstrip(".")
    if not name:
        return False
    return any(name == ref or (ref.startswith(".") and (name.endswith(ref) or name == ref[1:]))
               for ref in allowed)


def require_hosts(app: Flask) -> None:
    """Refuse to serve production without its host names (``ConfigError``, one line)."""
    if app.config["AMANA_ENV"] == "production" and not app.config.get("ALLOWED_HOSTS"):
        raise ConfigError("AMANA_ALLOWED_HOSTS is required in production: the host names this "
                          "server answers to, comma-separated (e.g. amana.example.org).")


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's development request handler without the ``Server`` header, which names the
    Werkzeug and Python versions (``python wsgi.py`` serves with it)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: Werkzeug's line names the raw path with its query string. Amana's own line
        (``app.observability.logs``) says what happened, by route name."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """As in ``http.server``, less the ``Server`` header."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


def install_security(app: Flask) -> None:
    """Refuse unknown host names; give every response the security headers. (Every request's
    id is given by ``app.observability.logs``.) Request bodies are limited per view
    (``LimitedRequest``)."""
    app.request_class = LimitedRequest

    @app.before_request
    def _known_host() -> None:
        # Runs before routing's redirects are raised and before the session guard.
        allowed = app.config.get("ALLOWED_HOSTS") or []
        if (allowed or app.config.get("AMANA_ENV") == "production") \
                and not host_allowed(request.host, allowed):
            abort(400)

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        if h.get("Content-Security-Policy") != SANDBOXED:  # a download keeps its own
            h["Content-Security-Policy"] = _csp()
        h["X-Content-Type-Options"] = "nosniff"
        # Our own origin only: over HTTPS the CSRF check (``WTF_CSRF_SSL_STRICT``) refuses a
        # form sent without a same-origin Referer, and under ``no-referrer`` a browser sends
        # none, so no form could be posted in production. No other site is ever told a URL.
        h["Referrer-Policy"] = "same-origin"
        h["X-Frame-Options"] = "DENY"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if app.config.get("HSTS"):
            h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.endpoint == "static" and response.status_code == 200:
            h["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}"
        else:
            # Shared devices: nothing a page shows may stay in a cache or the back button.
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        return response
