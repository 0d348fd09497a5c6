"""The auditor's home page: open alerts, the last verification, the newest checkpoint's age,
decryption failures and break-glass uses in the last seven days, counted by hand below; a
warning in words when the last verification failed, is missing or old, or the newest checkpoint
is missing or old. Only auditors get the panel; the page is audited.

The clock starts at Tuesday 24 November 2026, 10:00 UTC (working hours in Tripoli); the test
world's own events are written then, so eight days later they are out of the alerts' week.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from app.audit import autocheckpoint
from app.audit.actions import Action, Outcome
from tests.helpers.audit import add, seqs_on
from tests.helpers.factories import CANARY
from tests.helpers.panel_reading import home_views, links, section, text

AUDITOR = "auditor"
BROKEN = "The last verification found the audit trail broken."
NEVER = "No verification of the audit trail has been run yet."
OLD_RUN = "The last verification is more than 7 days old."
NO_CHECKPOINT = "No checkpoint has been written outside the database."
OLD_CHECKPOINT = "The newest checkpoint outside the database is too old"


def _verified(app, world, *, ok: bool = True) -> None:
    """A verification run recorded as the verification page records it."""
    add(app, world, Action.AUDIT_VERIFY, actor=AUDITOR, object_type="audit_chain",
        object_id="40", outcome=Outcome.ALLOWED if ok else Outcome.ERROR,
        reason="web:intact" if ok else "web:edited@12")


def _panel(auth) -> tuple[str, object]:
    client = auth.login(AUDITOR)
    page = client.get("/").get_data(as_text=True)
    panel = section(page, "audit")
    assert panel is not None
    return panel, client


def test_the_counts_of_the_auditor_panel(app, auth, world, frozen):
    case = world.ids["case_own"]
    # Eight days ago: one emergency access (out of the week and of the alerts' look-back).
    add(app, world, Action.BREAK_GLASS_OPEN, actor="supervisor", object_type="case",
        object_id=case, reason="risk_to_life;text=0")
    frozen.advance(days=8)
    # This week: two emergency accesses opened and one refused (an alert, not a use).
    for outcome in (Outcome.ALLOWED, Outcome.ALLOWED, Outcome.DENIED):
        add(app, world, Action.BREAK_GLASS_OPEN, actor="supervisor", object_type="case",
            object_id=case, outcome=outcome, reason="risk_to_life;text=0")
    # Two records that did not decrypt (one met twice), and an erased one (no failure).
    for record_id, reason in (("11111111-1111-4111-8111-111111111111", "tampered"),
                              ("11111111-1111-4111-8111-111111111111", "tampered"),
                              ("22222222-2222-4222-8222-222222222222", "tampered"),
                              ("33333333-3333-4333-8333-333333333333", "destroyed")):
        add(app, world, Action.CRYPTO_DECRYPT_FAILED, actor="caseworker", object_type="case",
            object_id=record_id, outcome=Outcome.ERROR, reason=reason)
    _verified(app, world)
    panel, client = _panel(auth)
    words = text(panel)
    # Open alerts: 3 break-glass (the refused attempt too) + 2 unreadable records.
    assert "Open alerts 5 in the last 168 hours" in words
    assert "Break-glass access: 3" in words and "Records that could not be read: 2" in words
    assert "2 records could not be read" in words
    assert "Break-glass uses in the last 7 days 2" in words
    assert "Last verification Intact" in words
    assert "No warning" in words and "Warning:" not in words
    assert re.search(r"Signed \d+ seconds ago", words)  # at the login
    # The break-glass count links to the events search that lists exactly those two.
    href = next(unescape(h) for label, h in links(panel) if h.startswith("/audit/events?"))
    assert "action=break_glass.open" in href and "outcome=allowed" in href
    assert len(seqs_on(client.get(href).get_data(as_text=True))) == 2


def test_a_failed_last_verification_is_a_warning(app, auth, world):
    _verified(app, world)
    _verified(app, world, ok=False)
    panel, _client = _panel(auth)
    words = text(panel)
    assert f"Warning: {BROKEN}" in words
    assert "Last verification Broken" in words
    assert "Failed verification: 1" in words


def test_a_later_intact_run_clears_the_warning(app, auth, world):
    _verified(app, world, ok=False)
    _verified(app, world)
    panel, _client = _panel(auth)
    assert BROKEN not in text(panel) and "Warning:" not in text(panel)


def test_no_verification_yet_is_a_warning(app, auth):
    panel, _client = _panel(auth)
    assert f"Warning: {NEVER}" in text(panel)
    assert "Last verification Never" in text(panel)


def test_an_old_verification_is_a_warning(app, auth, world, frozen):
    _verified(app, world)
    frozen.advance(days=7, minutes=1)
    panel, _client = _panel(auth)
    assert f"Warning: {OLD_RUN}" in text(panel)


def _checkpoint_at_start_then(app, auth, world, frozen, hours: float) -> str:
    """A checkpoint interval of two days (the time rule writes none in between), one checkpoint
    now, a verification ``hours`` later, and the panel's text then."""
    app.config["AUDIT_CHECKPOINT_MINUTES"] = 2 * 24 * 60
    with app.app_context():
        assert autocheckpoint.write(app, "time") is not None
    frozen.advance(hours=hours)
    _verified(app, world)
    panel, _client = _panel(auth)
    return text(panel)


def test_a_checkpoint_a_day_old_is_a_warning(app, auth, world, frozen):
    words = _checkpoint_at_start_then(app, auth, world, frozen, 25)
    assert f"Warning: {OLD_CHECKPOINT}" in words
    assert "Signed 1 day ago" in words


def test_a_checkpoint_under_a_day_old_is_not(app, auth, world, frozen):
    words = _checkpoint_at_start_then(app, auth, world, frozen, 23)
    assert OLD_CHECKPOINT not in words and "Warning:" not in words
    assert "Signed 23 hours ago" in words


def test_no_checkpoint_is_a_warning(app, auth, world, tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app.config["AUDIT_CHECKPOINT_FILE"] = str(blocker / "checkpoints.jsonl")
    _verified(app, world)
    panel, _client = _panel(auth)
    assert f"Warning: {NO_CHECKPOINT}" in text(panel)
    assert "Newest checkpoint outside the database None" in text(panel)


def test_only_auditors_get_the_panel_and_the_page_is_audited_without_survivor_data(app, auth, world):
    for username in ("caseworker", "supervisor", "admin", "wgss_coordinator", "program_manager"):
        assert section(auth.login(username).get("/").get_data(as_text=True), "audit") is None
    before = home_views(app, world.users[AUDITOR])
    client = auth.login(AUDITOR)
    page = client.get("/").get_data(as_text=True)
    assert section(page, "audit") is not None
    assert home_views(app, world.users[AUDITOR]) == before + 1
    for canary in CANARY.values():
        assert canary not in page


def test_alert_counts_are_remembered_for_a_few_minutes_and_say_when(app, auth, world, frozen):
    """Counting the alerts reads a week of the trail: the home page reuses a count made up to
    AUDIT_HOME_ALERT_MINUTES ago (saying when), then counts again; the Alerts page never
    reuses it."""
    app.config["AUDIT_HOME_ALERT_MINUTES"] = 5
    case = world.ids["case_own"]
    frozen.advance(days=8)
    panel, client = _panel(auth)
    assert "Open alerts 0 in the last 168 hours" in text(panel)
    add(app, world, Action.BREAK_GLASS_OPEN, actor="supervisor", object_type="case",
        object_id=case, reason="risk_to_life;text=0")
    frozen.advance(minutes=2)
    words = text(section(client.get("/").get_data(as_text=True), "audit"))
    assert "Open alerts 0 in the last 168 hours · counted at" in words
    assert "Break-glass uses in the last 7 days 1" in words   # counted on every view
    frozen.advance(minutes=4)
    words = text(section(client.get("/").get_data(as_text=True), "audit"))
    assert "Open alerts 1 in the last 168 hours" in words and "counted at" not in words
