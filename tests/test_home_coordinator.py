"""The safe-space coordinator's home page: this month's sessions per own safe space, the days
since each one's last session, and the awareness sessions and trainings logged this month at
the coordinator's sites, all counted by hand below. Another coordinator's spaces, another
organisation's spaces and sites, and closed ones are never counted; "this month" is the
coordinator's zone's; the page is audited.

The clock stands at Tuesday 24 November 2026, 10:00 UTC (12:00 in Tripoli, the world's zone).
"""

from __future__ import annotations

import uuid
from datetime import date

import pyotp
import pytest

from app.auth import mfa, passwords
from app.auth.models import User
from app.clock import utcnow
from app.db import db
from app.directory.models import SafeSpace, Site
from tests.helpers.factories import CANARY
from tests.helpers.login import PASSWORD
from tests.helpers.panel_reading import home_views, links, rows, section, text
from tests.helpers.programme import insert_log
from tests.helpers.safe_space import insert_session

COORDINATOR = "wgss_coordinator"
NOTES_CANARY = "SessionNotesCanary-Q7"


def _add_space(app, world, label: str, *, name: str, site: str, org: str = "org",
               active: bool = True, assign_to: str | None = COORDINATOR) -> None:
    """A safe space (``world.ids[label]``), assigned to ``assign_to`` when given."""
    with app.app_context():
        space = SafeSpace(organisation_id=uuid.UUID(world.ids[org]),
                          site_id=uuid.UUID(world.ids[site]), name=name, active=active,
                          opened_on=date(2025, 1, 1))
        db.session.add(space)
        db.session.flush()
        if assign_to is not None:
            owner = db.session.get(User, uuid.UUID(world.users[assign_to]))
            owner.safe_spaces.append(space)
        db.session.commit()
        world.ids[label] = str(space.id)


def _second_coordinator(app, world) -> None:
    """Another coordinator of the same organisation, with the Benghazi safe space and site."""
    with app.app_context():
        user = User(username="coordinator_b", display_name="Test coordinator_b",
                    organisation_id=uuid.UUID(world.ids["org"]), role="wgss_coordinator",
                    password_hash=passwords.hash_password(PASSWORD), password_changed_at=utcnow())
        user.sites = [db.session.get(Site, uuid.UUID(world.ids["benghazi"]))]
        user.safe_spaces = [db.session.get(SafeSpace, uuid.UUID(world.ids["safe_space2"]))]
        db.session.add(user)
        db.session.flush()
        secret = pyotp.random_base32(32)
        mfa.store_secret(user, secret)
        user.mfa_enrolled_at = utcnow()
        db.session.commit()
    world.secrets["coordinator_b"] = secret


@pytest.fixture
def coordinator_world(app, world):
    """Sessions and logs in and out of the coordinator's reach (counts in the comments)."""
    ids = dict(world.ids)
    _second_coordinator(app, world)
    _add_space(app, world, "new_space", name="New WGSS", site="tripoli")
    _add_space(app, world, "closed_space", name="Closed WGSS", site="tripoli", active=False)
    # Another organisation's space, wrongly assigned to our coordinator: never counted.
    _add_space(app, world, "partner_space", name="Partner WGSS", site="partner_site",
               org="other_org")
    with app.app_context():
        # A wrong assignment to another organisation's site: never counted either.
        coordinator = db.session.get(User, uuid.UUID(world.users[COORDINATOR]))
        coordinator.sites.append(db.session.get(Site, uuid.UUID(world.ids["partner_site"])))
        db.session.commit()
    # Camp WGSS (the coordinator's): 3 sessions in November, the last on the 20th (its notes
    # are sealed, and never shown).
    for day in (date(2026, 11, 2), date(2026, 11, 20), date(2026, 11, 20), date(2026, 10, 31)):
        insert_session(app, world, held_on=day, notes=NOTES_CANARY)
    # Benghazi WGSS (the other coordinator's) and the others: never on this page.
    for label in ("safe_space2", "closed_space", "partner_space"):
        for _ in range(5):
            insert_session(app, world, space=label, held_on=date(2026, 11, 23))
    # Tripoli (the coordinator's site): 2 awareness sessions and 1 training in November.
    insert_log(app, world, "awareness", held_on=date(2026, 11, 1))
    insert_log(app, world, "awareness", held_on=date(2026, 11, 24))
    insert_log(app, world, "awareness", held_on=date(2026, 10, 31))
    insert_log(app, world, "trainings", held_on=date(2026, 11, 10))
    # Benghazi (the other coordinator's site) and the partner's site: never counted.
    for site in ("benghazi", "partner_site"):
        for kind in ("awareness", "trainings"):
            for _ in range(4):
                insert_log(app, world, kind, site=site, held_on=date(2026, 11, 5))
    yield world
    world.ids.clear()
    world.ids.update(ids)
    world.secrets.pop("coordinator_b", None)


def test_sessions_per_own_safe_space_and_days_since_the_last(app, auth, coordinator_world):
    world = coordinator_world
    page = auth.login(COORDINATOR).get("/").get_data(as_text=True)
    panel = section(page, "wgss-sessions")
    assert panel is not None
    assert rows(panel) == [
        ["Camp WGSS", "3", "4 days ago (Nov 20, 2026)"],
        ["New WGSS", "0", "No session logged yet"],
    ]
    assert "November 2026" in text(panel)
    found = {href: label for label, href in links(panel)}
    assert found[f"/safe-spaces/{world.ids['safe_space']}/sessions?month=2026-11"] == "3"
    assert found[f"/safe-spaces/{world.ids['new_space']}/sessions?month=2026-11"] == "0"
    for other in ("Benghazi WGSS", "Closed WGSS", "Partner WGSS"):
        assert other not in page


def test_awareness_sessions_and_trainings_logged_this_month(app, auth, coordinator_world):
    world = coordinator_world
    page = auth.login(COORDINATOR).get("/").get_data(as_text=True)
    panel = section(page, "programme-logs")
    assert panel is not None
    assert rows(panel) == [["Tripoli", "TRI", "2", "1"]]
    assert "2 awareness sessions · 1 staff training" in text(panel)
    found = {href: label for label, href in links(panel)}
    tripoli = world.ids["tripoli"]
    assert found[f"/programme/sites/{tripoli}/awareness?month=2026-11"] == "2"
    assert found[f"/programme/sites/{tripoli}/trainings?month=2026-11"] == "1"
    assert "Benghazi" not in panel and "Partner Site" not in panel


def test_the_other_coordinator_sees_only_their_own(app, auth, coordinator_world):
    page = auth.login("coordinator_b").get("/").get_data(as_text=True)
    assert rows(section(page, "wgss-sessions") or "") == [["Benghazi WGSS", "5", "1 day ago (Nov 23, 2026)"]]
    assert rows(section(page, "programme-logs") or "") == [["Benghazi", "BEN", "4", "4"]]
    assert "Camp WGSS" not in page


def test_this_month_is_the_coordinators_own(app, auth, frozen, world):
    """At 23:30 UTC on 30 November it is already 1 December in Tripoli: November's sessions
    are last month's, and the last one was a day ago."""
    insert_session(app, world, held_on=date(2026, 11, 30))
    insert_log(app, world, "awareness", held_on=date(2026, 11, 30))
    frozen.advance(days=6, hours=13, minutes=29)      # 2026-11-30 23:29 UTC, before the login
    assert utcnow().date() == date(2026, 11, 30)
    page = auth.login(COORDINATOR).get("/").get_data(as_text=True)
    assert rows(section(page, "wgss-sessions") or "") == [["Camp WGSS", "0", "1 day ago (Nov 30, 2026)"]]
    assert rows(section(page, "programme-logs") or "") == [["Tripoli", "TRI", "0", "0"]]
    assert "December 2026" in text(section(page, "wgss-sessions") or "")


def test_no_other_role_gets_the_coordinator_panels(app, auth):
    for username in ("caseworker", "program_manager", "admin", "auditor"):
        page = auth.login(username).get("/").get_data(as_text=True)
        assert section(page, "wgss-sessions") is None, username
        assert section(page, "programme-logs") is None, username


def test_the_home_page_is_audited_and_shows_no_survivor_data(app, auth, world,
                                                             coordinator_world):
    before = home_views(app, world.users[COORDINATOR])
    page = auth.login(COORDINATOR).get("/").get_data(as_text=True)
    assert home_views(app, world.users[COORDINATOR]) == before + 1
    assert section(page, "wgss-sessions") is not None
    for canary in (*CANARY.values(), NOTES_CANARY):
        assert canary not in page
