"""Every code shown to the auditor is translated (issue 14, item 7): the reason codes the app
writes into the trail have labels, collected from the source (every string passed as a
``reason``, to a refusal or a failure) and from the enums and choices that reasons are built
from; the audit pages show the labels, with the raw code kept in a tooltip."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from app.audit.actions import Outcome
from app.audit.reasons import REASON_LABELS, reason_label
from app.audit.verify import BreakKind
from app.auth.guard import TIMEOUT_REASONS
from app.cases.gbvims import ServiceType
from app.cases.justifications import BREAK_GLASS_REASONS, OVERRIDE_REASONS
from app.cases.workflow import CLOSURE_REASONS, REOPEN_REASONS, CaseStatus
from app.referrals.models import (
    NotProvidedReason,
    ReferralStatus,
    RevokeReason,
    ServiceOutcome,
    Urgency,
)
from tests.helpers.audit import add, seqs_on

APP = Path(__file__).resolve().parent.parent / "app"
TOKEN = re.compile(r"[a-z][a-z_]+")
CODE = re.compile(r"^[a-z0-9_:;=,@]*$")  # a code, not prose (prose has spaces or capitals)
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def _strings(node: ast.AST):
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and CODE.match(n.value):
            yield n.value


def _source_codes() -> dict[str, str]:
    """Every word of every reason literal in app/, with a file that writes it: ``reason=``
    arguments, the arguments of refusals and failures (``deny``, ``refuse``, ``Refused``,
    ``failed``...), what ``audit_reason()`` and ``code()`` methods return, assignments to
    ``reason``, ``NOT_FOUND``, ``OUT_OF_SCOPE`` and ``SENT_BACK``."""
    found: dict[str, str] = {}
    for path in APP.rglob("*.py"):
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            values: list[ast.AST] = []
            if isinstance(n, ast.Call):
                values += [k.value for k in n.keywords if k.arg == "reason"]
                name = str(getattr(n.func, "attr", getattr(n.func, "id", ""))).lower()
                if any(w in name for w in ("refuse", "deny", "denied", "fail")):
                    values += n.args
            elif isinstance(n, ast.FunctionDef) and n.name in ("audit_reason", "code"):
                values += [r.value for r in ast.walk(n) if isinstance(r, ast.Return) and r.value]
            elif isinstance(n, ast.Assign) and any(
                    getattr(t, "id", "") in ("reason", "NOT_FOUND", "OUT_OF_SCOPE", "SENT_BACK")
                    for t in n.targets):
                values.append(n.value)
            for value in values:
                for text in _strings(value):
                    for token in TOKEN.findall(text):
                        found.setdefault(token, str(path.relative_to(APP.parent)))
    return found


def test_the_scan_finds_the_codes_it_should():
    """The scanner is not vacuous: codes written in each of the ways it looks for."""
    found = _source_codes()
    for code in ("awaiting_approval", "invalid_token", "out_of_scope", "fields_outside_consent",
                 "sent_back", "not_a_token", "unwrap_failed", "bad_password", "not_found",
                 "invalid_month", "identifying_text", "text", "month"):
        assert code in found, code


def test_every_reason_code_in_the_source_has_a_label():
    missing = {code: where for code, where in _source_codes().items()
               if code not in REASON_LABELS}
    assert not missing, f"add these to REASON_LABELS in app/audit/reasons.py: {missing}"


@pytest.mark.parametrize("codes", [
    TIMEOUT_REASONS, BREAK_GLASS_REASONS, OVERRIDE_REASONS, CLOSURE_REASONS, REOPEN_REASONS,
    [s.value for s in CaseStatus], [k.value for k in BreakKind], [s.value for s in ServiceType],
    [s.value for s in ReferralStatus], [u.value for u in Urgency],
    [r.value for r in RevokeReason], [o.value for o in ServiceOutcome],
    [r.value for r in NotProvidedReason],
    ["intact", "newer_than_audit", "older_than_audit", "does_not_open", "services", "reporting",
     "share", "web", "cli"],
], ids=lambda c: next(iter(c)))
def test_codes_that_reasons_are_built_from_have_labels(codes):
    assert not [c for c in codes if c not in REASON_LABELS]


def test_a_reason_reads_as_words_with_its_counts_and_ids_kept(app):
    with app.test_request_context(), force_locale("en"):
        assert reason_label("awaiting_approval") == "Awaiting approval"
        assert reason_label("other;text=43") == "Other; Explanation: 43 characters"
        assert reason_label("imminent_risk;text=1") == (
            "Immediate risk to the survivor's safety; Explanation: 1 character")
        assert reason_label("cli:refused:edited@12") == "Command line: Refused: Event edited #12"
        assert reason_label("month:2026-05") == "Month: 2026-05"
        assert reason_label("recorded_in_error:TRI-2026-00001") == (
            "Recorded in error: TRI-2026-00001")
        assert reason_label("caseworker") == "Caseworker"  # a role (account created)
        assert reason_label("some_future_code") == "some_future_code"  # older/newer releases
        assert reason_label(None) == reason_label("") == ""


def test_labels_are_translated(app):
    # Labels reuse the features' own wording where there is one, so their translation too.
    with app.test_request_context(), force_locale("ar"):
        assert reason_label("closed") != "Closed" and reason_label("closed") != "closed"


REASONS = ["awaiting_approval", "invalid_token", "out_of_scope", "fields_outside_consent",
           "sent_back", "other;text=43", "not_issued_for_this_form", "share:legal:withdrawn",
           "idle_timeout", "web:edited@4,bad_checkpoint_lines:2", "wrong_order:declined",
           "no_such_case_in_organisation", "survivor_request:TRI-2026-00001"]


def test_the_events_page_shows_no_raw_reason_code(app, auth, world):
    seqs = [add(app, world, "access.denied", outcome=Outcome.DENIED, object_type="endpoint",
                reason=r) for r in REASONS]
    page = auth.login("auditor").get("/audit/events").get_data(as_text=True)
    assert set(seqs) <= set(seqs_on(page))
    shown = [html.unescape(m) for m in
             re.findall(r'<span class="audit-reason" title="[^"]*">([^<]*)</span>', page)]
    assert len(shown) >= len(REASONS)
    raw = [s for s in shown if SNAKE.search(s)]
    assert not raw, raw
    assert "Awaiting approval" in shown and "Other; Explanation: 43 characters" in shown
    # The code stays in the page, in the tooltip.
    assert 'title="other;text=43"' in page and 'title="awaiting_approval"' in page


def test_alerts_and_verify_pages_label_reasons(app, auth, world):
    add(app, world, "break_glass.open", actor="supervisor", object_type="case",
        object_id=world.ids["case_other"], reason="imminent_risk;text=40")
    c = auth.login("auditor")
    alerts = html.unescape(c.get("/audit/alerts").get_data(as_text=True))
    assert "Immediate risk to the survivor's safety; Explanation: 40 characters" in alerts
    assert 'title="imminent_risk;text=40"' in alerts
    page = c.get("/audit/verify").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"csrf_token": token.group(1)} if token else {}
    verify = html.unescape(c.post("/audit/verify", data=data).get_data(as_text=True))
    assert "On the web: Intact" in verify and 'title="web:intact"' in verify
