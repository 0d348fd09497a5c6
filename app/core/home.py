"""What a home page is made of: panels that features contribute through ``hooks.home_panels``.

The home page (``app.main.home``) imports no feature: each feature that has something to show
a role subscribes to ``hooks.home_panels`` in its ``home.py`` and returns a list of ``Panel``
for the user (empty when it has nothing for that role). A panel names a template partial and
the names it shows, so each feature keeps its own markup.

Everything in a panel is built from codes, counts, dates and case numbers: never a name, a
narrative, a note or any other sealed value (``tests/test_home_canaries.py`` puts a canary in
every sealed field and reads every home page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Panel:
    """One section of a home page.

    ``key`` is stable (the section's ``id`` on the page, and how tests find it); ``order`` sorts
    the page (lower first: what is urgent comes first); ``template`` is a partial rendered with
    ``context`` as its names, plus ``panel`` itself.
    """

    key: str
    title: Any
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


def gather(results: list[Any]) -> list[Panel]:
    """Every panel the subscribers returned, in page order."""
    panels = [p for found in results for p in (found or [])]
    return sorted(panels, key=lambda p: (p.order, p.key))
