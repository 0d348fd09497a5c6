"""The statistics are counted again when, and only when, what they count changed.

Every commit that writes a counted record (case, incident, perpetrator, consent decision,
referral, site) gives its organisation a new stamp in the same transaction; a rolled-back
change, another organisation's change or an unrelated write does not. A page reuses its last
count while the stamps match, for a few minutes after an ordinary change (it says when it
counted), and never after a consent decision or a deletion. A referral's deadline passing
counts again, because "not answered in time" changes with time alone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app import clock
from app.cases import service as cases
from app.cases.models import Case, Incident
from app.db import db
from app.directory import service as directory
from app.directory.models import Organisation, Site
from app.referrals import service as referrals
from app.referrals.models import Referral
from app.reports import freshness, queries
from app.reports.models import StatisticsStamp
from tests.helpers.apps import Clock
from tests.helpers.factories import World
from tests.helpers.login import Auth
from tests.helpers.statistics import decide, incident, refer, survivor, user

Stamps = tuple[uuid.UUID | None, uuid.UUID | None]


def org(world: World) -> uuid.UUID:
    return uuid.UUID(world.ids["org"])


def stamps(world: World) -> Stamps:
    db.session.rollback()   # a fresh read, as a new request would make
    return freshness.stamps(org(world))


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[uuid.UUID]]:
    """Every count of a year's tables the statistics make (the organisation counted)."""
    made: list[uuid.UUID] = []
    real = queries.tables

    def counting(organisation_id: uuid.UUID, year: int) -> list:
        made.append(organisation_id)
        return real(organisation_id, year)

    monkeypatch.setattr(queries, "tables", counting)
    yield made


@pytest.fixture
def recorded(app: Flask, world: World) -> uuid.UUID:
    """A case with a consented incident in March 2026 at Tripoli."""
    with app.app_context():
        case = survivor(world)
        incident(world, case, core="rape", occurred=date(2026, 3, 1), reported=date(2026, 3, 2))
        return case.id


# -- the stamps -------------------------------------------------------------------------------

def test_every_counted_write_changes_the_stamp(app: Flask, world: World) -> None:
    with app.app_context():
        seen = [stamps(world)]

        def changed(removal: bool = False) -> None:
            now = stamps(world)
            assert now[0] != seen[-1][0], "the change stamp did not move"
            assert (now[1] != seen[-1][1]) is removal
            seen.append(now)

        case = survivor(world, reporting=None)
        changed(removal=True)        # opened (a change) with a services consent (a decision)
        found = incident(world, case, core="rape", occurred=date(2026, 3, 1),
                         reported=date(2026, 3, 2))
        changed()
        decide(world, case, True)
        changed(removal=True)
        found = db.session.get(Incident, found.id)
        assert found is not None
        found.location_type = "school"          # a coded column, as the edit form saves it
        db.session.commit()
        changed()
        perpetrator = found.perpetrators[0]
        perpetrator.sex = "female"
        db.session.commit()
        changed()
        referral = refer(world, case, "health_medical", at=clock.utcnow())
        changed(removal=True)        # the sharing consent, and the referral
        referral = db.session.get(Referral, referral.id)
        assert referral is not None
        referrals.answer(user(world, "service_provider"), referral, referrals.ReferralAnswer(
            referrals.AnswerOp.DECLINE, "No capacity this week", referral.version))
        changed()
        place = db.session.get(Organisation, org(world))
        assert place is not None
        directory.create_site(place, "Misrata", "MIS")
        changed()
        case = db.session.get(Case, case.id)
        assert case is not None
        cases.erase(user(world, "supervisor"), case, "recorded_in_error")
        changed(removal=True)


def test_a_rolled_back_change_leaves_the_stamp(app: Flask, world: World,
                                               recorded: uuid.UUID) -> None:
    with app.app_context():
        before = stamps(world)
        case = db.session.get(Case, recorded)
        assert case is not None
        case.displacement_status = "returnee"
        db.session.flush()
        db.session.rollback()
        assert stamps(world) == before
        case = db.session.get(Case, recorded)
        assert case is not None
        case.displacement_status = "returnee"
        db.session.commit()
        assert stamps(world)[0] != before[0]


def test_another_organisation_and_unrelated_writes_leave_the_stamp(
        app: Flask, world: World, recorded: uuid.UUID) -> None:
    with app.app_context():
        before = stamps(world)
        site = db.session.get(Site, uuid.UUID(world.ids["partner_site"]))
        assert site is not None
        partner = site.organisation
        directory.create_site(partner, "Partner annex", "PAX")
        assert stamps(world) == before
        assert freshness.stamps(partner.id)[0] is not None
        someone = user(world, "caseworker")
        someone.display_name = "Renamed Worker"       # not a counted record
        db.session.commit()
        assert stamps(world) == before


def test_a_deleted_incident_is_a_removal(app: Flask, world: World, recorded: uuid.UUID) -> None:
    with app.app_context():
        before = stamps(world)
        found = db.session.execute(select(Incident).where(
            Incident.case_id == recorded)).scalar_one()
        db.session.delete(found)
        db.session.commit()
        after = stamps(world)
        assert after[0] != before[0] and after[1] != before[1]


def test_a_stamp_row_is_one_per_organisation(app: Flask, world: World, recorded: uuid.UUID) -> None:
    with app.app_context():
        decide(world, db.session.get(Case, recorded), True)
        incident(world, db.session.get(Case, recorded), reported=date(2026, 3, 4))
        rows = db.session.execute(select(StatisticsStamp.organisation_id)).scalars().all()
        assert len(rows) == len(set(rows))
        assert org(world) in rows


# -- what a page reuses --------------------------------------------------------------------

def _core_total(text: str) -> str:
    found = re.search(r'id="stats-core_type".*?<td[^>]*class="[^"]*total[^"]*"[^>]*>([^<]+)<',
                      text, re.S)
    return found.group(1).strip() if found else ""


def _page(c, period: str = "2026-03") -> str:  # type: ignore[no-untyped-def]
    page = c.get(f"/statistics/?period={period}&site=all")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_an_unchanged_year_is_counted_once(auth: Auth, world: World, recorded: uuid.UUID,
                                           counts: list[uuid.UUID]) -> None:
    c = auth.login("program_manager")
    first = _page(c)
    assert counts == [org(world)]
    _page(c)
    _page(c, "2026-Q1")
    _page(c, "2026")
    c.get("/statistics/export.csv?period=2026-03&site=all")
    assert counts == [org(world)]
    assert 'id="stats-counted"' in first


def test_with_no_window_every_change_is_counted_at_once(app: Flask, auth: Auth, world: World,
                                                        recorded: uuid.UUID,
                                                        counts: list[uuid.UUID]) -> None:
    c = auth.login("program_manager")
    _page(c)
    with app.app_context():
        incident(world, db.session.get(Case, recorded), reported=date(2026, 3, 5))
    _page(c)
    assert len(counts) == 2


@pytest.fixture
def window(app: Flask) -> Iterator[None]:
    app.config["STATS_RECOUNT_MINUTES"] = 10
    yield
    app.config["STATS_RECOUNT_MINUTES"] = 0


def test_an_ordinary_change_waits_for_the_window(app: Flask, auth: Auth, world: World,
                                                 recorded: uuid.UUID, counts: list[uuid.UUID],
                                                 window: None, frozen: Clock) -> None:
    c = auth.login("program_manager")
    _page(c)
    with app.app_context():
        incident(world, db.session.get(Case, recorded), reported=date(2026, 3, 5))
    frozen.advance(minutes=9)
    _page(c)
    assert len(counts) == 1, "counted again inside the window"
    frozen.advance(minutes=2)
    _page(c)
    assert len(counts) == 2, "not counted again once the window had passed"


def test_a_withdrawal_is_counted_at_once_even_inside_the_window(
        app: Flask, auth: Auth, world: World, recorded: uuid.UUID, counts: list[uuid.UUID],
        window: None) -> None:
    c = auth.login("program_manager")
    with app.app_context():   # four more, so the month's rape count is published (k = 5)
        for day in (3, 4, 5, 6):
            extra = survivor(world)
            incident(world, extra, core="rape", occurred=date(2026, 3, 1),
                     reported=date(2026, 3, day))
    before = _page(c)
    assert len(counts) == 1
    with app.app_context():
        decide(world, db.session.get(Case, recorded), False)
    after = _page(c)
    assert len(counts) == 2, "a withdrawal must be counted at once"
    assert before != after


def test_an_erased_case_is_counted_at_once_even_inside_the_window(
        app: Flask, auth: Auth, world: World, recorded: uuid.UUID, counts: list[uuid.UUID],
        window: None) -> None:
    c = auth.login("program_manager")
    _page(c)
    with app.app_context():
        case = db.session.get(Case, recorded)
        assert case is not None
        cases.erase(user(world, "supervisor"), case, "survivor_request")
    _page(c)
    assert len(counts) == 2


def test_a_passing_deadline_is_counted_again(app: Flask, auth: Auth, world: World,
                                             recorded: uuid.UUID, counts: list[uuid.UUID],
                                             frozen: Clock) -> None:
    c = auth.login("program_manager")
    with app.app_context():
        sent = refer(world, db.session.get(Case, recorded), "health_medical",
                     at=clock.utcnow())
        deadline = db.session.get(Referral, sent.id).respond_by
        assert queries.next_deadline(org(world)) is not None
    _page(c)
    assert len(counts) == 1
    _page(c)
    assert len(counts) == 1
    frozen.advance(seconds=(deadline - frozen.now).total_seconds() + 1)
    c = auth.login("program_manager")     # days later: a new session
    _page(c)
    assert len(counts) == 2, "the deadline passed: a referral is now not answered in time"


def test_counted_serves_by_its_stamps() -> None:
    a, b, now = uuid.uuid4(), uuid.uuid4(), datetime(2026, 3, 1, 12, tzinfo=UTC)
    counted = freshness.Counted("grid", now, a, b, None)
    none = timedelta(0)
    ten = timedelta(minutes=10)
    assert counted.serves(a, b, now + timedelta(days=30), none)
    assert not counted.serves(uuid.uuid4(), b, now + timedelta(seconds=1), none)
    assert counted.serves(uuid.uuid4(), b, now + timedelta(minutes=9), ten)
    assert not counted.serves(uuid.uuid4(), b, now + timedelta(minutes=10), ten)
    assert not counted.serves(a, uuid.uuid4(), now, ten)          # a removal: never
    assert not counted.serves(None, None, now, ten)                 # a database rebuilt
    expiring = freshness.Counted("grid", now, a, b, now + timedelta(hours=1))
    assert expiring.serves(a, b, now + timedelta(minutes=59), none)
    assert not expiring.serves(a, b, now + timedelta(hours=1), none)


def test_every_model_the_statistics_count_is_watched() -> None:
    """A table counted in ``app.reports.queries`` whose writes did not change the stamp would
    leave a remembered count standing after its records changed."""
    from app.db import Model as Base

    counted = {v for v in vars(queries).values()
               if isinstance(v, type) and issubclass(v, Base) and v is not Base}
    assert counted, "the statistics count no model?"
    assert counted <= set(freshness.WATCHED), counted - set(freshness.WATCHED)


def test_a_record_changed_after_it_expired_stamps_only_its_organisation(
        app: Flask, world: World, recorded: uuid.UUID) -> None:
    with app.app_context():
        partner = db.session.get(Site, uuid.UUID(world.ids["partner_site"]))
        assert partner is not None
        directory.create_site(partner.organisation, "Partner annex 2", "PX2")
        theirs = freshness.stamps(partner.organisation_id)
        before = stamps(world)
        found = db.session.execute(select(Incident).where(
            Incident.case_id == recorded)).scalar_one()
        db.session.expire(found, ["case_id"])     # what it belongs to is not in memory
        found.location_type = "school"
        db.session.commit()
        assert stamps(world)[0] != before[0]
        assert freshness.stamps(partner.organisation_id) == theirs, "stamped every organisation"
