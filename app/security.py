"""Response hardening: a per-request CSP nonce, security headers and no-store caching."""

from __future__ import annotations

import secrets
import uuid

from flask import Flask, Response, g, request

STATIC_MAX_AGE = 3600


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
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ))


def install_security(app: Flask) -> None:
    """Give every request an id and every response the security headers."""

    @app.before_request
    def _request_id() -> None:
        g.request_id = str(uuid.uuid4())

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h["Content-Security-Policy"] = _csp()
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
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
