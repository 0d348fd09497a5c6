"""The statistics' settings, read in one place.

``min_count()`` is k of the small-cell suppression: every published count below it is withheld
(``AMANA_STATS_MIN_COUNT``, default 5; ``app.config`` refuses a value below 3 at start-up, so
only a test that sets ``STATS_MIN_COUNT`` itself can run with less).
"""

from __future__ import annotations

from flask import current_app

DEFAULT_MIN_COUNT = 5


def min_count() -> int:
    """k: the smallest count the statistics publish (``AMANA_STATS_MIN_COUNT``)."""
    return int(current_app.config.get("STATS_MIN_COUNT", DEFAULT_MIN_COUNT))
