"""``/metrics``: the Prometheus metrics, for the local scraper or the holder of the token.

A request is served when it carries ``Authorization: Bearer <AMANA_METRICS_TOKEN>`` (compared in
constant time), or, with no ``Authorization`` header at all, when it comes from the loopback
interface *directly*: the peer address Amana sees is a loopback address, the address the socket
saw (before ``ProxyFix``) is one too, and no proxy header is present. A request through the
reverse proxy on the same host has a loopback peer, but carries the proxy's ``X-Forwarded-*``
headers, so it is never taken for a local one, whatever the client put in those headers.

Everything else gets the same 404 as a URL that does not exist (not 401 or 403: the endpoint is
not to be discovered). The route is public for the guard (``PUBLIC_ENDPOINTS``): a scraper has no
session. Scrapes are not audited: they show no record and no user data (labels are endpoint
names, methods and status classes), like ``/healthz``; a refused one is a 404 like any other.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from flask import Blueprint, Response, abort, current_app, request

from app.observability.metrics import exposition

bp = Blueprint("metrics", __name__)

# Headers a proxy adds: their presence means the request did not come from the local scraper.
PROXY_HEADERS = ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
                 "X-Forwarded-Prefix", "X-Real-IP", "Forwarded")


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)


def token_matches(header: str, expected: str | None) -> bool:
    """Whether ``header`` is ``Bearer <expected>``; constant time in the token's content."""
    scheme, _, given = header.partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(hashlib.sha256(given.strip().encode()).digest(),
                               hashlib.sha256(expected.encode()).digest())


def scrape_allowed() -> bool:
    """The access rule above."""
    header = request.headers.get("Authorization")
    if header is not None:
        return token_matches(header, current_app.config.get("METRICS_TOKEN"))
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    socket_peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get(
        "REMOTE_ADDR", request.environ.get("REMOTE_ADDR"))
    return is_loopback(request.remote_addr) and is_loopback(socket_peer)


@bp.get("/metrics")
def scrape() -> Response:
    """The metrics, or the 404 of a page that does not exist."""
    if not scrape_allowed():
        abort(404)
    body, content_type = exposition()
    return Response(body, status=200, content_type=content_type)
