"""In-process hooks: how one feature reacts to another's event without importing it.

Cases announce "consent withdrawn" and "case erased", and gather what other features show on
their pages (``collect``); referrals subscribe. Admin announces "scope narrowed" (an account's
role or places changed); cases subscribe. The announcing
feature does not know who listens, so the import graph stays one-way (referrals → cases, never
back; admin never imports cases). Subscribers run synchronously, in the announcer's
transaction: if one raises, the whole change rolls back, as if the work were written inline.

A hook that must have a listener (withdrawing consent must close the referrals it covered)
is declared ``required``; ``check_subscribed()`` runs when the app starts and refuses to start
when one has none, so a missing import cannot silently skip the work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

    def collect(self, **kwargs: Any) -> list[Any]:
        """Call every subscriber with ``kwargs`` and return what each returned, in order: how a
        page gathers the sections other features contribute without importing them."""
        return [fn(**kwargs) for fn in list(self._subscribers)]

    @property
    def subscribers(self) -> tuple[Callable[..., Any], ...]:
        return tuple(self._subscribers)


# --- The hooks --------------------------------------------------------------------------------
# Keyword arguments are part of each hook's contract; subscribers take exactly these.

#: A consent of a case was withdrawn: ``case``, ``kind`` (consent kind code) and
#: ``service_type`` (None for consent to refer to any service). Called in the transaction
#: that records the withdrawal.
consent_withdrawn = Hook("consent_withdrawn", required=True)

#: A case is being erased (crypto-shredded): ``case``. Called in the erasing transaction,
#: before the case's own keys are destroyed.
case_erased = Hook("case_erased", required=True)

#: An admin changed an account's role, organisation or places (its access may have narrowed):
#: ``user``. Called in the transaction of that change, after its sessions ended, so cases can
#: take the worker off what they can no longer reach (``app.cases.assignment``).
scope_narrowed = Hook("scope_narrowed", required=True)

#: The case page is being built for ``user``: ``case``, ``user``. Each subscriber returns a
#: dict of names its section of the page shows (referrals: the case's referrals).
case_page = Hook("case_page", required=True)

#: The task list is being built for ``user``: ``user``. Each subscriber returns a dict of names
#: its part of the list shows (referrals: late and urgent referrals).
task_page = Hook("task_page", required=True)

#: The home page shows ``user`` the rape incidents still inside their clinical window, on the
#: cases ``case_ids``: each subscriber returns a dict of case id → the status of its urgent
#: clinical referral ("sent", "accepted") for those of them that have one (referrals).
clinical_referrals = Hook("clinical_referrals", required=True)

#: The fields a consent to share may allow beyond the minimum: no arguments. Each subscriber
#: returns a list of (code, label) pairs (referrals: the fields a referral can carry).
share_fields = Hook("share_fields", required=True)


@dataclass(frozen=True)
class OpenItem:
    """Something of a case still open when its closure is asked for or decided (``open_items``):
    ``kind`` a stable code (``urgent_referral``, ``goal``, ``follow_up``...), ``text`` what the
    page shows (translated, never survivor data), ``urgent`` whether it is listed first."""

    kind: str
    text: str
    urgent: bool = False


#: What is still open on a case, for its closure request and decision: ``case``, ``page``
#: (the case page's ``case_page`` sections when the page asks, so a subscriber can use what its
#: own section already read in this request instead of reading it again; else None). Each
#: subscriber returns a list of ``OpenItem`` (referrals: urgent ones unanswered, accepted ones
#: without an outcome). Cases add their own goals and follow-ups (``app.cases.closure``).
open_items = Hook("open_items", required=True)

#: The home page is being built for ``user``: ``user``. Each subscriber returns a list of
#: ``app.core.home.Panel`` for the user's role (empty when it has nothing to show them).
home_panels = Hook("home_panels")

#: Notifications are being shown to ``user``: ``user``, ``targets`` (a list of
#: ``(object_type, object_id)`` pairs). Each subscriber returns a dict mapping the pairs it
#: knows and that the user may still open to the URL that opens them; a pair nobody returns is
#: out of the user's reach (reassigned, revoked, erased) and its notifications are dropped.
notification_targets = Hook("notification_targets", required=True)

#: The notification timer runs (``flask notify scan``, ``flask notify send``): ``now``. Each
#: subscriber adds, with ``app.notifications.service.notify(..., occasion=...)``, the
#: notifications that come due with time alone (an urgent clinical window about to close).
notification_due = Hook("notification_due")

#: Workers were taken off a case (reassigned, or their scope narrowed): ``case``, ``users``
#: (their ids). Called in the transaction of that change, after cases discarded what those
#: users were told about the case; each subscriber discards what they were told about its own
#: records of the case (referrals: notifications about the case's referrals), so their bell
#: counts nothing they can no longer open.
case_left = Hook("case_left", required=True)

#: A case is being handed to another organisation (``app.cases.transfer``): ``case`` (the
#: sender's, still readable: its copy exists in the receiving organisation) and ``tombstone``
#: (what the sender keeps of it). Called in the accepting transaction, just before the
#: sender's case is erased; each subscriber keeps, linked to the tombstone, what the sender
#: must keep of its records (referrals: the referral trail, codes and dates only).
case_transferred = Hook("case_transferred", required=True)

#: A referral form is being built for ``case``: each subscriber returns a list of (id, text) of
#: the case's files the referral may share (attachments); the form offers them as ticks.
referral_shareables = Hook("referral_shareables", required=True)

#: A referral was just sent: ``referral`` (flushed), ``case``, ``user``, ``attachments`` (the
#: ids of the case's files chosen to share, already allowed by the consent). Called in the
#: sending transaction; each subscriber copies what it owns under the referral's key, and an
#: exception refuses the whole referral (attachments).
referral_sent = Hook("referral_sent", required=True)

#: A referral's page is being built for ``user`` (the sender's or the service's): ``referral``,
#: ``user``. Each subscriber returns a dict of names its section shows (attachments: the files
#: shared with it).
referral_page = Hook("referral_page", required=True)

ALL: tuple[Hook, ...] = (consent_withdrawn, case_erased, scope_narrowed, case_page, task_page,
                         clinical_referrals, referral_shareables, referral_sent, referral_page,
                         share_fields, open_items, home_panels, notification_targets,
                         notification_due, case_left, case_transferred)


def check_subscribed() -> None:
    """Refuse to run when a required hook has no subscriber (a feature was not loaded)."""
    missing = [h.name for h in ALL if h.required and not h.subscribers]
    if missing:
        raise RuntimeError("Required hooks have no subscriber: " + ", ".join(missing))
