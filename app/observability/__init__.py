"""Logs and metrics that leak nothing: one structured line per request (``logs``) and
Prometheus metrics (``metrics``, served by ``routes`` to loopback or a bearer token only).

Everything here is named by codes: endpoint names, methods, status classes, request and account
ids. Nothing a user typed or a record holds (names, notes, search terms, form values, query
strings, raw URLs) is ever a log field or a metric label.
"""

from __future__ import annotations

from flask import Flask


def install_observability(app: Flask) -> None:
    """Log format and handler, the per-request id, timer, log line and histogram, and the
    ``/metrics`` endpoint. Installed first, so its timer starts before any other
    ``before_request`` and its line is written after every other ``after_request``."""
    from app.observability.logs import configure_logging, install_request_log
    from app.observability.routes import bp

    configure_logging(app)
    install_request_log(app)
    app.register_blueprint(bp)
