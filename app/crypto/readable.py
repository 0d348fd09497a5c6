"""Lists and searches leave out a record that cannot be read instead of failing as a whole.

    rows = readable(notes, ("body",))   # [(note, {"body": "..."}), ...]

A page that lists several records decrypts each of them, and one damaged record (a changed
byte, a value copied from another row, a data key that no longer unwraps) raises
``DecryptionError``. Without care that one record answers the whole page with an error: a
search with one damaged candidate could not be done, and intake, which needs a search, stopped.

``readable`` opens the named fields of every record before anything is shown, leaves out a
record any of whose fields does not open, and counts it. The page then tells the user how many
records could not be read (one notice per request, through ``flash``, translated); the values,
the names and the ids stay out of it. The failure itself was noted by
``app.crypto.failures.failed`` when it happened: it reaches the audit trail when the request
ends, in a transaction of its own (the request's own work is committed by its own
``transaction()`` before that), and the auditor sees it among the alerts (kind ``decryption``).

A record whose data key was destroyed (``KeyDestroyedError``) is not damaged but erased: it is
left out like a deleted record, without the notice and without an alert (its erasure is on the
trail already).

Pages about one record (a case, a referral) still fail closed when that record does not open:
there is nothing else to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from flask import Flask, before_render_template, flash, g, has_request_context
from flask_babel import ngettext

from app.crypto.envelope import unwrap_many
from app.crypto.errors import DecryptionError, KeyDestroyedError

R = TypeVar("R")
_COUNT = "_amana_unreadable"


class Readable(list[tuple[R, dict[str, Any]]], Generic[R]):
    """The records that opened, each with its opened values; ``skipped`` counts those left out
    as unreadable (erased records are not counted)."""

    skipped: int = 0


def readable(records: Iterable[R], fields: Sequence[str], *, notice: bool = True) -> Readable[R]:
    """Each record with the values of ``fields``, leaving out the records that do not open.

    Every record left out for damage is counted for the page's notice (``notice=False`` when
    the page words its own, as the duplicate search does). Erased records are left out silently.
    """
    out: Readable[R] = Readable()
    records = list(records)
    # Records with keys of their own (cases, referrals) would each read theirs on first use.
    unwrap_many(getattr(item, "data_key_id", None) for item in records)
    for item in records:
        try:
            values = {name: getattr(item, name) for name in fields}
        except KeyDestroyedError:
            continue
        except DecryptionError:
            out.skipped += 1
            continue
        out.append((item, values))
    if out.skipped and notice and has_request_context():
        setattr(g, _COUNT, unreadable_count() + out.skipped)
    return out


def unreadable_count() -> int:
    """How many records this request has left out as unreadable so far (for its notice)."""
    return int(g.get(_COUNT, 0)) if has_request_context() else 0


def notice_text(count: int) -> str:
    """The notice for ``count`` records left out (no value, name or id in it)."""
    return str(ngettext(
        "%(num)d record could not be read and is not shown. The failure has been recorded "
        "for the auditor; tell your administrator if it happens again.",
        "%(num)d records could not be read and are not shown. The failures have been recorded "
        "for the auditor; tell your administrator if it happens again.", count))


def _before_render(_app: Flask, **_extra: Any) -> None:
    """One notice per request, shown on the page being rendered."""
    count = int(g.pop(_COUNT, 0)) if has_request_context() else 0
    if count:
        flash(notice_text(count), "warning")


def install_unreadable_notice(app: Flask) -> None:
    """Show the notice on pages that left records out (called with the failure audit)."""
    before_render_template.connect(_before_render, app, weak=False)
