"""The demo seed's statistics (``app.reports.demo``): synthetic survivors with one incident each,
referrals and programme logs, recorded once through the app's services, so the demo manager's
statistics page has a year to show and its counts agree with what was seeded."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from unittest.mock import patch

from sqlalchemy import func, select

from app import demo
from app.audit.models import AuditEvent
from app.cases.consent import ConsentKind
from app.cases.models import Case, ConsentRecord, Incident
from app.db import db
from app.directory.models import Organisation, Service
from app.localtime import organisation_zone
from app.localtime import today as local_today
from app.programme.models import AwarenessSession, StaffTraining
from app.referrals.models import Referral
from app.reports import demo as demo_stats
from app.reports import queries
from app.reports.definitions import Family


def _draws(today: date) -> list[demo_stats.Survivor]:
    """The survivors the seed draws on ``today`` (the same draws, referrals included)."""
    rng = random.Random(demo_stats.SEED)
    found = []
    for n in range(1, demo_stats.CASES + 1):
        who = demo_stats.draw(rng, n, today)
        demo_stats._referrals(rng, who)
        found.append(who)
    return found


def _counts(org_id: object) -> dict[str, int]:
    cases = db.session.execute(select(func.count(Case.id)).where(
        Case.organisation_id == org_id)).scalar_one()
    incidents = db.session.execute(select(func.count(Incident.id)).join(Case).where(
        Case.organisation_id == org_id)).scalar_one()
    referrals = db.session.execute(select(func.count(Referral.id)).join(Case).where(
        Case.organisation_id == org_id)).scalar_one()
    logs = sum(db.session.execute(select(func.count(m.id))).scalar_one()
               for m in (AwarenessSession, StaffTraining))
    audited = db.session.execute(select(func.count(AuditEvent.seq))).scalar_one()
    return {"cases": cases, "incidents": incidents, "referrals": referrals, "logs": logs,
            "audited": audited}


def test_demo_seed_records_statistics_once_and_they_are_counted(app, world):
    # The first 40 of the demo's survivors (the same draws as the full demo, a third of the
    # time): enough for every count below, cheap on both databases.
    with app.app_context(), patch.object(demo_stats, "CASES", 40):
        demo.seed()
        org = db.session.execute(select(Organisation).where(
            Organisation.name == demo.ORG)).scalar_one()
        first = _counts(org.id)
        assert first["cases"] == first["incidents"] == demo_stats.CASES
        assert first["referrals"] > 0
        # Only the demo provider's own service answered (the policy: a provider of the
        # receiving service), and it did answer some.
        answered = db.session.execute(
            select(Service.name, Referral.status).join(Service, Service.id == Referral.service_id)
            .where(Referral.status != "sent")).all()
        assert answered and {name for name, _ in answered} == {demo_stats.REFER_MHPSS}
        assert first["logs"] == demo_stats.AWARENESS_SESSIONS + len(demo_stats.TRAINING_TOPICS)
        # Names are synthetic only.
        names = {c.full_name for c in db.session.execute(select(Case).where(
            Case.organisation_id == org.id)).scalars()}
        assert names == {f"Demo Survivor {n:03d}" for n in range(1, demo_stats.CASES + 1)}

        # Idempotent: a second seed adds nothing, not even an audited write but its own.
        demo.seed()
        again = _counts(org.id)
        assert {k: v for k, v in again.items() if k != "audited"} == \
            {k: v for k, v in first.items() if k != "audited"}
        assert again["audited"] == first["audited"] + 1  # the seed's own "system.demo_seed"

        # The year has something to count: ``publication.counted_year`` (the statistics page)
        # shows "No incident with consent..." exactly when this is false; protecting the grid
        # itself takes seconds and is tested elsewhere ...
        today = local_today(organisation_zone(org.id))
        year = today.year
        tables = queries.tables(org.id, year)
        assert queries.has_incidents(tables)

        # ... and its counts are the seeded incidents reported this year with consent granted.
        draws = [w for w in _draws(today) if w.reported.year == year and w.reporting]
        expected = Counter("non_gbv" if w.core == "non_gbv" else "gbv" for w in draws)
        by_code = {t.code: t for t in tables}
        assert sum(by_code["core_type"].counts.values()) == expected["gbv"] > 0
        assert sum(by_code["non_gbv"].counts.values()) == expected["non_gbv"] > 0
        for table in tables:
            if table.family == Family.GBV:
                assert sum(table.counts.values()) == expected["gbv"], table.code
        # The database agrees: the latest reporting decision of each counted case is a grant.
        granted = db.session.execute(
            select(func.count(func.distinct(ConsentRecord.case_id))).join(Case).where(
                Case.organisation_id == org.id, ConsentRecord.granted.is_(True),
                ConsentRecord.kind == ConsentKind.REPORTING.value)).scalar_one()
        assert granted == sum(w.reporting for w in _draws(today)) > 0
        assert granted < demo_stats.CASES  # some refused


def test_demo_draws_are_fixed_and_long_tailed():
    """The same survivors every time, mostly women, at every site, Tripoli most, with each core
    type and some refusals of consent to statistics."""
    today = date(2026, 11, 24)
    first, second = _draws(today), _draws(today)
    assert first == second
    sites = Counter(w.site for w in first)
    assert set(sites) == {name for name, _ in demo.SITES}
    assert sites.most_common(1)[0][0] == "Tripoli"
    assert {w.core for w in first} == {c for c, _ in demo_stats.CORE_TYPES}
    assert sum(w.sex == "female" for w in first) > 0.8 * len(first)
    assert 0.8 * len(first) < sum(w.reporting for w in first) < len(first)
    assert all(w.occurred <= w.reported <= today for w in first)
    assert {w.reported.year for w in first} == {2025, 2026}
