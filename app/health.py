"""``/healthz``: 200 when every configured dependency answers, 503 when one does not, and
nothing more.

The dependencies are the database and, when ``RATELIMIT_STORAGE_URI`` names Redis, the
rate-limit store (app/dependencies.py). Each is asked with a short timeout, so a lost server
makes the answer 503 within seconds instead of hanging the probe.
"""

from __future__ import annotations

from flask import Blueprint, Response

from app.dependencies import database_ok, rate_limit_store_ok

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Probe for load balancers: says only ok or unavailable."""
    if database_ok() and rate_limit_store_ok():
        return Response("ok\n", status=200, mimetype="text/plain")
    return Response("unavailable\n", status=503, mimetype="text/plain")
