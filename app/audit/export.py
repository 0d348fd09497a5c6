"""CSV export of the trail, safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
spreadsheet programs as a formula (CSV injection), so such a cell is prefixed with a single
quote. The file starts with a byte-order mark so that spreadsheets read it as UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

HEADER = ("seq", "occurred_at_utc", "actor_id", "actor_username", "actor_role",
          "organisation_id", "action", "object_type", "object_id", "outcome", "reason",
          "request_id", "client_address")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """A cell's text, with a leading quote when a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    text = value.isoformat(timespec="microseconds") if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _cells(row: Any) -> list[str]:
    return [neutralise(v) for v in (
        row.seq, row.occurred_at, row.actor_id, row.username, row.actor_role,
        row.organisation_id, row.action, row.object_type, row.object_id, row.outcome, row.reason,
        row.request_id, row.client_address)]


def csv_chunks(batches: Iterable[list[Any]]) -> Iterator[str]:
    """The export as text chunks: a header, then one chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield "\ufeff" + buffer.getvalue()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_cells(r) for r in rows)
        yield buffer.getvalue()
