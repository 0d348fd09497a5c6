"""In-process hooks: how one feature reacts to another's event without importing it.

Cases announce "consent withdrawn" and "case erased"; referrals subscribe. Admin announces
"scope narrowed" (an account's role or places changed); cases subscribe. The announcing
feature does not know who listens, so the import graph stays one-way (referrals → cases, never
back; admin never imports cases). Subscribers run synchronously, in the announcer's
transaction: if one raises, the whole change rolls back, as if the work were written inline.

A hook that must have a listener (withdrawing consent must close the referrals it covered)
is declared ``required``; ``check_subscribed()`` runs when the app starts and refuses to start
when one has none, so a missing import cannot silently skip the work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Hook:
    """A named event with its subscribers, called in the order they subscribed."""

    def __init__(self, name: str, *, required: bool = False) -> None:
        self.name = name
        self.required = required
        self._subscribers: list[Callable[..., Any]] = []

    def subscribe(self, fn: F) -> F:
        """Decorator: call ``fn(**kwargs)`` each time the hook is emitted."""
        if fn not in self._subscribers:
            self._subscribers.append(fn)
        return fn

    def emit(self, **kwargs: Any) -> None:
        """Call every subscriber with ``kwargs``; an exception propagates to the announcer."""
        for fn in list(self._subscribers):
            fn(**kwargs)

    @property
    def subscribers(self) -> tuple[Callable[..., Any], ...]:
        return tuple(self._subscribers)


# --- The hooks --------------------------------------------------------------------------------
# Keyword arguments are part of each hook's contract; subscribers take exactly these.

#: A consent of a case was withdrawn: ``case``, ``kind`` (consent kind code) and
#: ``service_type`` (None for consent to refer to any service). Called in the transaction
#: that records the withdrawal.
consent_withdrawn = Hook("consent_withdrawn")

#: A case is being erased (crypto-shredded): ``case``. Called in the erasing transaction,
#: before the case's own keys are destroyed.
case_erased = Hook("case_erased")

#: An admin changed an account's role, organisation or places (its access may have narrowed):
#: ``user``. Called in the transaction of that change, after its sessions ended, so cases can
#: take the worker off what they can no longer reach (``app.cases.assignment``).
scope_narrowed = Hook("scope_narrowed", required=True)

ALL: tuple[Hook, ...] = (consent_withdrawn, case_erased, scope_narrowed)


def check_subscribed() -> None:
    """Refuse to run when a required hook has no subscriber (a feature was not loaded)."""
    missing = [h.name for h in ALL if h.required and not h.subscribers]
    if missing:
        raise RuntimeError("Required hooks have no subscriber: " + ", ".join(missing))
