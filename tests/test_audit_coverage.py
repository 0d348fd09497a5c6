"""Coverage: every page that shows records writes to the audit trail before it is served.

Every route is in the authorization matrix (``test_route_authorization.py`` fails otherwise), so
this walks the matrix: each GET row is requested by a role that may use it, and when the page is
served (200) at least one audit event must have been written by that request. A page that shows
no record (an empty form, the home page) is listed in ``NO_RECORD_SHOWN`` with the reason; a new
route that is neither audited nor listed fails here. ``KNOWN_GAPS`` are pages that show a
record's metadata without recording the access, reported to their owners: they are expected to
fail (strictly, so fixing one makes this test say to remove it from the list).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.db import db
from tests.authz_matrix import MATRIX, Row
from tests.helpers.routes import fill_path, send

NO_RECORD_SHOWN = {
    ("auth.change_password", "/auth/password"): "an empty form for one's own password",
    ("admin.user_new", "/admin/users/new"): "an empty account form",
    ("admin.directory_record", "/admin/directory/site/new"): "an empty directory form",
    ("cases.search_cases", "/cases/search"): "the search form (the search itself is recorded)",
    ("cases.new", "/cases/new"): "an empty intake form",
    ("field.sync_status", "/field/sync"): "a device's check before it uploads: the account's "
                                          "own id, a CSRF token and a count (uploads are recorded)",
    ("cases.break_glass", "/cases/break-glass"): "the break-glass request form",
    ("recorder.download", "/statistics/recorder"): "the export form, no figure (every export "
                                                    "and refusal is recorded)",
}
# Pages that show a record without recording the access: none left. A new one goes here with
# the reason, and the test expects it to fail until it is fixed.
KNOWN_GAPS: dict[tuple[str, str], str] = {}
PAGES = [r for r in MATRIX if r.method == "GET" and r.allowed]


def _param(row: Row) -> object:
    key = (row.endpoint, row.path)
    if key in KNOWN_GAPS:
        return pytest.param(row, id=f"GET {row.path}", marks=pytest.mark.xfail(
            strict=True, reason=f"known gap, reported: {KNOWN_GAPS[key]}"))
    return pytest.param(row, id=f"GET {row.path}")


def test_the_lists_name_real_pages():
    keys = {(r.endpoint, r.path) for r in PAGES}
    assert set(NO_RECORD_SHOWN) <= keys
    assert set(KNOWN_GAPS) <= keys


@pytest.mark.parametrize("row", [_param(r) for r in PAGES])
def test_every_page_that_shows_records_is_audited(row: Row, app, world, auth):
    if (row.endpoint, row.path) in NO_RECORD_SHOWN:
        pytest.skip(NO_RECORD_SHOWN[(row.endpoint, row.path)])
    role = sorted(row.allowed)[0]
    auth.login("caseworker2" if role != "caseworker2" else "caseworker")
    client = auth.login(role)
    path = fill_path(row.path, app, world, role)
    with app.app_context():
        before = db.session.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    resp = send(client, row, path, None)
    if resp.status_code != 200:
        pytest.skip(f"nothing served ({resp.status_code})")
    with app.app_context():
        written = db.session.execute(
            select(AuditEvent.action).where(AuditEvent.seq > before)).scalars().all()
    assert written, f"{row.endpoint} served a page and recorded nothing in the audit trail"
