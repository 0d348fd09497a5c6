"""No input reaches a 500.

Every GET route of the authorization matrix gets, on every query parameter it reads (and on a
set of generic ones it should ignore), oversized, negative, zero, malformed, control-character,
huge and out-of-range values and repeated keys; the verification page gets hostile checkpoint
uploads. Any 500, and any HTML answer outside the layout, fails. ``PARAMS`` must name every GET
endpoint of the matrix, so a route added later is noticed until its parameters are listed.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from wtforms.fields.core import UnboundField

from app.admin.forms import PledgeListForm, UserFilterForm
from app.audit.checkpoint import FORMAT, CheckpointError, load
from app.audit.forms import FilterForm
from app.cases.forms import CaseFilterForm
from app.field.handover_forms import TeamListForm
from app.forms import BIGINT_MAX, PAGE_MAX, KeysetForm, parse_whole
from app.programme.forms import ListForm
from app.reports.forms import StatsFilterForm
from app.safe_space.forms import FiguresForm, MonthForm
from tests.authz_matrix import MATRIX, PUBLIC, ROLES, Row
from tests.helpers.routes import fill_path


def fields_of(form: type) -> tuple[str, ...]:
    """The names of a form class's fields (what it reads from the query string)."""
    return tuple(sorted(name for name in dir(form)
                        if isinstance(getattr(form, name, None), UnboundField)))


KEYSET = fields_of(KeysetForm)

# What each GET endpoint of the matrix reads from the query string (forms give their fields).
# An endpoint that reads nothing is listed with (). A route missing here fails the suite, and
# the fuzz test checks each entry against the names the view really looks up (``ArgsSeen``).
PARAMS: dict[str, tuple[str, ...]] = {
    "main.home": (),
    "field.intakes": (),
    "field.team": fields_of(TeamListForm),
    "field.intake": (),
    "field.sync_status": (),
    "notifications.index": ("page",),
    "notifications.email_setting": (),
    "auth.mfa": (),
    "auth.mfa_enrol": (),
    "auth.mfa_qr": (),
    "auth.change_password": (),
    "auth.my_sessions": (),
    "auth.passkey_list": (),
    "admin.users": fields_of(UserFilterForm),
    "admin.grant_list": (),
    "admin.user_new": (),
    "admin.user_edit": (),
    "admin.directory": (),
    "admin.pledge": fields_of(PledgeListForm),
    "admin.pledge_publish": (),
    "auth.pledge": ("next",),
    "admin.directory_record": (),
    "admin.organisation_sso": (),
    "audit.events": fields_of(FilterForm) + KEYSET,
    "audit.record_history": KEYSET,
    "audit.user_activity": KEYSET,
    "audit.verify": (),
    "audit.alerts": (),
    "cases.index": fields_of(CaseFilterForm) + ("before", "after"),  # keyset: case ids
    "cases.tasks": (),
    "cases.search_cases": (),
    "cases.new": (),
    "field.index": (),
    "field.shell_page": (),
    "field.setup": (),
    "field.worker": (),
    "cases.break_glass": (),
    "cases.view": (),
    "cases.history": ("before", "after"),  # keyset: change ids
    "cases.print_summary": (),
    "cases.edit": (),
    "cases.incident": (),
    "cases.assessment": (),
    "cases.action_item": (),
    "cases.assign": (),
    "cases.erase": (),
    "cases.transfer": (),
    "cases.transfers_incoming": (),
    "cases.transfer_decide": (),
    "referrals.new": ("service",),  # preselects a service (one of the active ones)
    "referrals.sent_view": (),
    "referrals.print_sent": (),
    "referrals.print_received": (),
    "referrals.inbox": (),
    "referrals.received": (),
    "attachments.download": (),
    "attachments.shared_download": (),
    "referrals.refer_on": (),  # the service is chosen in the POSTed form, never in the URL
    "safe_space.index": (),
    "safe_space.sessions": fields_of(MonthForm),
    "safe_space.new_session": ("space",),
    "safe_space.view_session": (),
    "safe_space.edit_session": (),
    "safe_space.summary": fields_of(MonthForm),
    "safe_space.summary_csv": fields_of(MonthForm),
    "safe_space.activity_types": (),
    "safe_space.activity_type": (),
    "recorder.download": (),
    "programme.index": (),
    "programme.logs": fields_of(ListForm),
    "programme.new_log": ("site",),
    "programme.edit_log": (),
    "wgss_figures.figures_page": fields_of(FiguresForm),
    "wgss_figures.figures_csv": fields_of(FiguresForm),
    "impact.impact_page": ("year",),
    "reports.index": fields_of(StatsFilterForm),
    "reports.export_csv": fields_of(StatsFilterForm),
    "reports.export_xlsx": fields_of(StatsFilterForm),
}
# Sent to every route too: names that lists commonly read, which a route must ignore or refuse.
GENERIC = ("page", "before", "after", "month", "q", "next", "sort", "status", "id", "lang")

HUGE = "99999999999999999999"
# Hostile values. Every parameter a route reads gets every one of them (see ``_fuzz``).
VALUES: tuple[str, ...] = (
    HUGE, "-" + HUGE, "9" * 5000, "9223372036854775807", "9223372036854775808", "-1", "0",
    "1.5", "1e9", "NaN", "0x10", "1_000", "\u0661\u0662", " +1 ", "", " ", "abc", "\x00",
    "1\x00", "\x1b[2J\r\n", "\u202e\ufeff\U0001F600", "\U0001F600" * 50, "a" * 20000,
    "' OR 1=1 --", "<script>x</script>", "0001-01", "9999-12", "0000-00", "2026-13", "10000-01",
    "-2026-01", "2026-02-30", "0001-01-01T00:00", "9999-12-31T23:59", "2026-11-24T25:61",
    "00000000-0000-0000-0000-000000000000", "//evil.example/", "javascript:alert(1)",
)
# Sent to each parameter on its own too (the others absent, so the view goes as far as it can).
ALONE = (HUGE, "\x00", "a" * 20000, "9999-12")
# Raw query strings: bytes that are not UTF-8, bare keys, odd separators, repeated keys.
RAW = ("{p}=%ff%fe%00",)
RAW_ALL = ("{p}=%C0%AF", "&&{p}=1&&", "{p}=1;{p}=2", "{p}=%25%25%25", "{p}=",
           "{p}[]=1&={p}&{p}", "{p}=" + HUGE + "&{p}=1", "{p}=1&{p}=" + HUGE)


def in_layout(body: str) -> bool:
    """Whether an HTML answer is a page of the base layout (header, main, end of document)."""
    return 'class="site-header"' in body and '<main id="main"' in body and "</html>" in body


def check(resp: Any, what: str) -> None:
    """Fail on a 500, or on an HTML answer outside the layout."""
    assert resp.status_code != 500, f"500 on {what}"
    assert resp.status_code < 500, f"{resp.status_code} on {what}"
    if resp.status_code in (301, 302, 303, 307, 308):
        location = resp.headers.get("Location", "")
        assert location.startswith("/") and not location.startswith("//"), (what, location)
    elif resp.mimetype == "text/html" and resp.status_code != 204:
        assert in_layout(resp.get_data(as_text=True)), f"not in the layout: {what}"


def targets() -> dict[str, list[tuple[str, Row]]]:
    """For each role, the GET routes it is allowed on (one row per endpoint, a real page first)."""
    chosen: dict[str, Row] = {}
    for row in MATRIX:
        if row.method != "GET" or not row.allowed:
            continue
        best = chosen.get(row.endpoint)
        if best is None or (200 not in best.ok and 200 in row.ok):
            chosen[row.endpoint] = row
    by_role: dict[str, list[tuple[str, Row]]] = defaultdict(list)
    for endpoint, row in sorted(chosen.items()):
        role = next(r for r in ROLES if r in row.allowed)
        by_role[role].append((endpoint, row))
    return by_role


def test_every_get_route_has_its_parameters_listed():
    """A GET route added to the matrix must say here which parameters it reads ((), if none)."""
    endpoints = {row.endpoint for row in MATRIX if row.method == "GET"}
    assert sorted(endpoints - set(PARAMS)) == [], "list these routes' query parameters in PARAMS"
    assert sorted(set(PARAMS) - endpoints) == [], "PARAMS names routes the matrix does not have"


def _fuzz(client: FlaskClient, path: str, params: tuple[str, ...]) -> int:
    """Send the hostile values to ``path``; returns how many requests were made.

    Request k gives parameter i the value ``VALUES[(k + i) % len(VALUES)]``: after
    ``len(VALUES)`` requests every parameter has had every value, at a fraction of the cost of
    one request per pair. Generic names ride along (a route must ignore what it does not read);
    a route that reads nothing gets a few rounds of those.
    """
    names = params + tuple(g for g in GENERIC if g not in params)
    rounds = len(VALUES) if params else 2
    for k in range(rounds):
        query = [(name, VALUES[(k + i) % len(VALUES)]) for i, name in enumerate(names)]
        check(client.get(path, query_string=query), f"{path} round {k}")
    raws = RAW_ALL if params else RAW_ALL[:1]
    for raw in raws:
        check(client.get(path + "?" + "&".join(raw.format(p=p) for p in names)), f"{path} {raw}")
    sent = rounds + len(raws)
    for name in params:
        for value in ALONE:
            check(client.get(path, query_string={name: value}), f"{path} {name}={value[:20]!r}")
        for raw in RAW:
            check(client.get(f"{path}?{raw.format(p=name)}"), f"{path} {raw.format(p=name)}")
        sent += len(ALONE) + len(RAW)
    return sent


class ArgsSeen(ImmutableMultiDict[str, str]):
    """Query-string arguments that note every name a view looks up (or "*" if it reads them
    all), so that a parameter read but missing from ``PARAMS`` is found."""

    seen: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.seen.add(str(key))
        return super().__contains__(key)

    def getlist(self, key: str, type: Any = None) -> list[Any]:  # noqa: A002 (werkzeug's name)
        self.seen.add(key)
        return super().getlist(key, type)

    def _all(self) -> None:
        self.seen.add("*")

    def __iter__(self) -> Any:
        self._all()
        return super().__iter__()

    def items(self, multi: bool = False) -> Any:
        self._all()
        return super().items(multi)

    def lists(self) -> Any:
        self._all()
        return super().lists()

    def to_dict(self, flat: bool = True) -> Any:
        self._all()
        return super().to_dict(flat)


@pytest.mark.parametrize("role", sorted(targets()))
def test_no_query_parameter_reaches_a_500(role: str, app, world, auth):
    client = auth.login(role)
    app.request_class = type("SeenRequest", (app.request_class,),
                             {"parameter_storage_class": ArgsSeen})
    sent = 0
    for endpoint, row in targets()[role]:
        path = fill_path(row.path.split("?")[0], app, world, role)
        ArgsSeen.seen.clear()
        sent += _fuzz(client, path, PARAMS.get(endpoint, ()))
        # The table is checked against what the view really read.
        assert ArgsSeen.seen <= set(PARAMS.get(endpoint, ())), (
            f"{endpoint} reads {sorted(ArgsSeen.seen)}: list them in PARAMS")
    assert sent >= 3 * len(targets()[role]) > 0  # every route of the role was really fuzzed


# The routes open to anyone (``PUBLIC`` in the matrix) and what they read.
PUBLIC_PARAMS: dict[str, tuple[str, ...]] = {
    "static": (), "health.healthz": (), "auth.login": ("next",), "auth.reset_password": (),
    # single sign-on (no provider here: 404 once a parameter is sent; with one, every junk
    # value is a refusal page: tests/test_oidc.py)
    "auth.oidc_start": (), "auth.oidc_callback": ("code", "state", "error"),
    "main.set_language": (),  # POST only: a GET answers 405
    "metrics.scrape": (),
}


def test_public_routes_and_anonymous_redirects(app, client):
    """Without an account: the public pages, and a protected page (sent to the login page with
    the hostile query string in ``next``)."""
    assert set(PUBLIC_PARAMS) == set(PUBLIC), "list the public routes' parameters here"
    app.request_class = type("SeenRequest", (app.request_class,),
                             {"parameter_storage_class": ArgsSeen})
    for endpoint, path in PUBLIC.items():
        ArgsSeen.seen.clear()
        _fuzz(client, path, PUBLIC_PARAMS[endpoint])
        assert ArgsSeen.seen <= set(PUBLIC_PARAMS[endpoint]), (endpoint, sorted(ArgsSeen.seen))
    for value in (HUGE, "\x00", "a" * 20000, "//evil.example/", "\\evil", "%2F%2Fevil"):
        check(client.get("/cases/", query_string={"page": value, "next": value}), "anonymous")


def test_page_numbers_too_large_fall_back_to_the_first_page(auth):
    """The reported cases: a 20-digit page on every list, extreme months on safe-space pages."""
    client = auth.login("supervisor")
    for value in (HUGE, "0", "-3", "100001", "abc"):
        resp = client.get("/cases/", query_string={"page": value})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200 and 'id="case-list"' in body, value
        assert "Page numbers run from 1 to 10000; the first page is shown." in body, value
        assert "Previous</a>" not in body  # shown as the first page
    admin = auth.login("admin")
    resp = admin.get("/admin/users", query_string={"page": HUGE})
    assert resp.status_code == 200 and "Page numbers run from 1 to" in resp.get_data(as_text=True)


def test_case_list_filter_is_validated(auth, world):
    """An invalid filter value is refused beside its field and dropped, not used."""
    client = auth.login("caseworker")
    body = client.get("/cases/", query_string={"status": "bogus"}).get_data(as_text=True)
    assert "Not a valid choice" in body
    assert world.case_numbers["case_own"] in body  # listed, not filtered by a bogus status
    body = client.get("/cases/", query_string={"site": world.ids["benghazi"]}).get_data(
        as_text=True)  # a site that is not one of the user's
    assert "Not a valid choice" in body


def test_months_out_of_range_get_a_message(auth, world):
    client = auth.login("wgss_coordinator")
    for month in ("0001-01", "9999-12", "1899-12", "2028-01"):  # the clock is in 2026
        for page in ("sessions", "summary"):
            resp = client.get(f"/safe-spaces/{world.ids['safe_space']}/{page}",
                              query_string={"month": month})
            assert resp.status_code == 200
            assert "Choose a month from 1900-01 to 2027-12." in resp.get_data(as_text=True)
        resp = client.get(f"/safe-spaces/{world.ids['safe_space']}/summary.csv",
                          query_string={"month": month})
        assert resp.status_code == 302 and "/summary.csv" not in resp.location
    resp = client.get(f"/safe-spaces/{world.ids['safe_space']}/summary",
                      query_string={"month": "2027-12"})
    assert "Choose a month from" not in resp.get_data(as_text=True)  # the last month allowed


def test_audit_paging_keys_out_of_range(auth, world):
    client = auth.login("auditor")
    for path in ("/audit/events", f"/audit/users/{world.users['caseworker']}",
                 f"/audit/objects/user/{world.users['caseworker']}"):
        for key in ("before", "after"):
            resp = client.get(path, query_string={key: HUGE})
            body = resp.get_data(as_text=True)
            assert resp.status_code == 200 and "That page of the trail does not exist" in body


# --- Uploads: signed checkpoints on the verification page -------------------------------------

def _checkpoint(**fields: Any) -> bytes:
    doc = {"format": "amana-audit-checkpoint/1", "seq": 1, "mac": "00" * 32,
           "time": "2026-11-24T10:00:00.000000Z", "key_id": "0" * 16, "signature": "AAAA"}
    doc.update(fields)
    return json.dumps(doc).encode()


def uploads(seed: bytes) -> list[tuple[str, list[tuple[bytes, str]]]]:
    """Hostile checkpoint files (name, [(content, filename)])."""
    from app.audit.checkpoint import make

    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    one = [
        ("nested list 100k", b"[" * 100_000 + b"]" * 100_000),
        ("nested list 8k", b"[" * 8_000 + b"]" * 8_000),
        ("nested object 2k", b'{"a":' * 2_000 + b"1" + b"}" * 2_000),
        ("nested seq", _checkpoint(seq=json.loads("[" * 500 + "]" * 500))),
        ("too large", b" " * 20_000 + _checkpoint()),
        ("binary", bytes(range(256)) * 8),
        ("invalid utf-8", b'{"format": "\xff\xfe\xc0\xaf"}'),
        ("utf-16", _checkpoint().decode().encode("utf-16")),
        ("nul", b"\x00" * 1000),
        ("empty", b""),
        ("list", b"[1, 2, 3]"), ("string", b'"x"'), ("number", b"1e999999"), ("null", b"null"),
        ("huge int", b"9" * 5000),
        ("seq string", _checkpoint(seq="1")), ("seq float", _checkpoint(seq=1.5)),
        ("seq bool", _checkpoint(seq=True)), ("seq negative", _checkpoint(seq=-1)),
        ("seq huge", _checkpoint(seq=10 ** 4000)), ("seq 2^63", _checkpoint(seq=2 ** 63)),
        ("mac odd", _checkpoint(mac="abc")), ("mac list", _checkpoint(mac=[1])),
        ("time year 1 east", _checkpoint(time="0001-01-01T00:00:00+01:00")),
        ("time year 9999 west", _checkpoint(time="9999-12-31T23:59:59-01:00")),
        ("time naive", _checkpoint(time="2026-11-24T10:00:00")),
        ("time junk", _checkpoint(time="\x00")), ("time number", _checkpoint(time=5)),
        ("signature unicode", _checkpoint(signature="\u0661" * 10)),
        ("signature junk", _checkpoint(signature="!!!")),
        ("format object", _checkpoint(format={"a": 1})),
        ("signed seq 2^70", make(seed, 2 ** 70, b"\x01" * 32, now).encode()),
        ("signed seq 2^63", make(seed, 2 ** 63, b"\x01" * 32, now).encode()),
        ("signed year 1", make(seed, 1, b"\x01" * 32, datetime(1, 1, 1, tzinfo=UTC)).encode()),
        ("signed future", make(seed, 10 ** 12, b"\x01" * 32,
                               datetime(9999, 12, 31, tzinfo=UTC)).encode()),
    ]
    cases = [(name, [(content, "cp.json")]) for name, content in one]
    cases += [
        ("many files", [(_checkpoint(), f"cp{i}.json") for i in range(30)]),
        ("over the request limit", [(b"x" * 300_000, "cp.json")]),
        ("odd filename", [(_checkpoint(), "\x00\u202e../../cp.json")]),
    ]
    return cases


# Signed with the application's own key, so they are read and compared with the trail.
COMPARED = {"signed year 1", "signed future"}


def test_no_upload_reaches_a_500(app, auth):
    """Each hostile file is refused with a message (or, over the request limit, 413); the two
    validly signed ones are compared with the trail and found not to match it."""
    client = auth.login("auditor")
    token = auth.csrf(client, "/audit/verify")
    for name, files in uploads(app.config["KEY_AUDIT_SIGNING"]):
        resp = client.post("/audit/verify", content_type="multipart/form-data", data={
            "csrf_token": token,
            "checkpoints": [(io.BytesIO(content), filename) for content, filename in files]})
        check(resp, f"upload {name}")
        body = resp.get_data(as_text=True)
        if name == "over the request limit":
            assert resp.status_code == 413
        elif name in COMPARED:
            assert "The audit trail is broken at event" in body, name
        else:
            assert resp.status_code == 200 and "Checkpoint refused:" in body, name
    # a text field where a file belongs, and a form with no file part at all
    for data in ({"csrf_token": token, "checkpoints": "x" * 1000},
                 {"csrf_token": token, "checkpoints": ["\x00", HUGE]}):
        check(client.post("/audit/verify", data=data), "checkpoints as text")


# --- Properties of the shared parsers (cheap, no HTTP) ------------------------------------------

@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.one_of(st.text(), st.integers().map(str), st.from_regex(r"[ +-]?[0-9]{0,30} ?",
                                                                    fullmatch=True)))
def test_whole_numbers_parse_strictly(text: str):
    """Only ASCII digits (an optional +) within the bounds; anything else is None, never raised."""
    stripped = text.strip()
    digits = stripped[1:] if stripped.startswith("+") else stripped
    plain = digits.isascii() and digits.isdigit() and len(digits) <= 19
    expected = int(digits) if plain and 1 <= int(digits) <= PAGE_MAX else None
    assert parse_whole(text, 1, PAGE_MAX) == expected
    big = parse_whole(text, 0, BIGINT_MAX)
    assert big is None or 0 <= big <= BIGINT_MAX


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                              max_size=4),
    max_leaves=20)
# Times at the ends of the calendar, with offsets that push them past year 1 or 9999 in UTC.
_TIMES = st.builds(lambda at, minutes: at.replace(tzinfo=timezone(timedelta(minutes=minutes)))
                   .isoformat(), st.datetimes(max_value=datetime(1, 1, 2))
                   | st.datetimes(min_value=datetime(9999, 12, 30)),
                   st.integers(-23 * 60, 23 * 60))
# Well-formed but wrong: the seq and time vary, the rest has the right shape.
_DOCS = st.fixed_dictionaries({
    "format": st.just(FORMAT), "mac": st.just("ab" * 32), "signature": st.just("AAAA"),
    "seq": st.integers(min_value=-2 ** 70, max_value=2 ** 70), "time": _TIMES,
}).map(lambda d: json.dumps(d).encode())
# The right format name, anything in the fields.
_JUNK_DOCS = st.fixed_dictionaries({"format": st.just(FORMAT)}, optional=dict.fromkeys(
    ("seq", "mac", "time", "signature", "key_id"), _JSON)).map(lambda d: json.dumps(d).encode())
_NESTED = st.integers(1, 8000).map(lambda n: b"[" * n + b"]" * n)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.one_of(st.binary(max_size=400), _JSON.map(lambda v: json.dumps(v).encode()), _DOCS,
                 _JUNK_DOCS,
                 _NESTED))
def test_checkpoint_loader_refuses_anything_malformed(data: bytes):
    """Whatever the bytes, the loader answers with a CheckpointError, never another exception."""
    with pytest.raises(CheckpointError):
        load(data, _KEY.public_key())


_KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
