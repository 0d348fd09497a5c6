"""Field intake pages: the offline form's shell in each language, its setup (the organisation's
intake key) and its service worker. Synced envelopes are answered by ``sync_routes``; pending
intakes are reviewed in ``review_routes`` (both on this blueprint)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("field", __name__, url_prefix="/field")
