"""Building home-page fixtures: cases and what hangs off them, written straight to the
database (call inside an app context), each sealed field holding a canary, so a test can
hand-count what a home page must show and check that no survivor data reaches it.

Cases are numbered ``HOME-<label>`` so a test finds them on the page by their number.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.auth import passwords
from app.auth.models import User
from app.cases.models import (
    ActionItem,
    Assessment,
    BreakGlassGrant,
    Case,
    CaseNote,
    ConsentRecord,
    FollowUp,
    Incident,
    StatusChange,
)
from app.clock import utcnow
from app.db import db
from app.directory.models import Service, Site
from app.referrals.models import Referral
from tests.helpers.factories import World
from tests.helpers.login import PASSWORD

#: The survivor canary put in every sealed field of the home fixtures.
HOME_CANARY = "HomeCanary-Sealed-5K2P"


def number(label: str) -> str:
    """The case number of the fixture case ``label``."""
    return f"HOME-{label}"


class Fixture:
    """Adds cases and their records for the world's accounts; ``ids`` maps labels to ids."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.ids: dict[str, uuid.UUID] = {}
        self._positions: dict[uuid.UUID, int] = {}

    def user_id(self, username: str) -> uuid.UUID:
        return uuid.UUID(self.world.users[username])

    def case(self, label: str, worker: str | None, *, site: str = "tripoli", org: str = "org",
             status: str = "implementation", risk: str = "low",
             opened_on: date = date(2026, 11, 24), secondary: str | None = None,
             plan_approved: bool = False) -> Case:
        """A case at ``site`` of ``org``, ``worker``'s (None: unassigned); its name a canary."""
        case = Case(case_number=number(label), organisation_id=uuid.UUID(self.world.ids[org]),
                    site_id=uuid.UUID(self.world.ids[site]),
                    primary_worker_id=self.user_id(worker) if worker else None,
                    secondary_worker_id=self.user_id(secondary) if secondary else None,
                    status=status, risk_level=risk, opened_on=opened_on,
                    plan_approved_at=utcnow() if plan_approved else None)
        case.full_name = f"{HOME_CANARY} {label}"
        case.safe_contact = HOME_CANARY
        db.session.add(case)
        db.session.flush()
        self.ids[label] = case.id
        return case

    def _case(self, label: str) -> Case:
        found = db.session.get(Case, self.ids[label])
        assert found is not None
        return found

    def follow_up(self, label: str, due_on: date, done_on: date | None = None) -> None:
        case = self._case(label)
        visit = FollowUp(case_id=case.id, due_on=due_on, done_on=done_on,
                         recorded_by_id=self.user_id("caseworker"), data_key=case.data_key)
        visit.notes = HOME_CANARY
        db.session.add(visit)

    def goal(self, label: str, due_on: date, status: str = "planned") -> None:
        case = self._case(label)
        item = ActionItem(case_id=case.id, service_type="mhpss", due_on=due_on, status=status,
                          data_key=case.data_key)
        item.goal = HOME_CANARY
        db.session.add(item)

    def rape(self, label: str, day: date, at: time | None = None,
             reported: date | None = None) -> None:
        """A rape incident flagged for urgent clinical care, on ``day`` at ``at`` (local)."""
        self.incident(label, day, at=at, reported=reported or day, core_type="rape",
                      urgent=True)

    def incident(self, label: str, day: date, *, reported: date, at: time | None = None,
                 core_type: str = "physical_assault", urgent: bool = False) -> None:
        case = self._case(label)
        incident = Incident(case_id=case.id, incident_date=day, reported_date=reported,
                            location_type="camp_settlement", core_type=core_type,
                            perpetrator_count="1", report_band="0_3_days", incident_time=at,
                            time_of_day="unknown", urgent_clinical=urgent,
                            recorded_by_id=self.user_id("caseworker"), data_key=case.data_key)
        incident.narrative = HOME_CANARY
        incident.perpetrator_details = HOME_CANARY
        db.session.add(incident)

    def consent(self, label: str, at: datetime) -> None:
        case = self._case(label)
        position = self._positions.get(case.id, 100) + 1
        self._positions[case.id] = position
        db.session.add(ConsentRecord(case_id=case.id, position=position, kind="services",
                                     granted=True, given_by="survivor", method="verbal",
                                     recorded_by_id=self.user_id("caseworker"), recorded_at=at))

    def note(self, label: str, at: datetime) -> None:
        case = self._case(label)
        note = CaseNote(case_id=case.id, author_id=self.user_id("caseworker"), created_at=at,
                        data_key=case.data_key)
        note.body = HOME_CANARY
        db.session.add(note)

    def step(self, label: str, to: str, at: datetime, *, reason: str | None = None,
             from_status: str = "follow_up", by: str = "caseworker") -> None:
        case = self._case(label)
        change = StatusChange(case_id=case.id, from_status=from_status, to_status=to,
                              reason=reason, by_id=self.user_id(by), at=at,
                              data_key=case.data_key)
        change.reason_detail = HOME_CANARY
        db.session.add(change)

    def referral(self, label: str, *, respond_by: datetime, status: str = "sent",
                 urgency: str = "normal", clinical: bool = False) -> None:
        case = self._case(label)
        service = db.session.get(Service, uuid.UUID(self.world.ids["mhpss"]))
        assert service is not None
        referral = Referral(case_id=case.id, service_id=service.id,
                            service_type=service.service_type, urgency=urgency,
                            urgent_clinical=clinical,
                            clinical_deadline_at=respond_by + timedelta(hours=48) if clinical
                            else None, status=status, sent_by_id=self.user_id("caseworker"),
                            sent_at=respond_by - timedelta(hours=72), respond_by=respond_by)
        referral.message = HOME_CANARY
        referral.share = HOME_CANARY
        db.session.add(referral)

    def assessment(self, label: str, *, safety_plan: str | None) -> None:
        case = self._case(label)
        found = Assessment(case_id=case.id, risk_level=case.risk_level,
                           assessed_by_id=self.user_id("caseworker"), data_key=case.data_key)
        found.notes = HOME_CANARY
        found.safety_plan = safety_plan
        db.session.add(found)

    def grant(self, label: str, holder: uuid.UUID, expires_at: datetime) -> None:
        case = self._case(label)
        grant = BreakGlassGrant(case_id=case.id, supervisor_id=holder,
                                opened_at=expires_at - timedelta(hours=1), expires_at=expires_at,
                                reason_code="medical_emergency", data_key=case.data_key)
        grant.justification = HOME_CANARY
        db.session.add(grant)

    def supervisor(self, username: str, display_name: str, site: str) -> uuid.UUID:
        """Another supervisor account (at ``site``), to hold a break-glass grant."""
        user = User(username=username, display_name=display_name,
                    organisation_id=uuid.UUID(self.world.ids["org"]), role="supervisor",
                    password_hash=passwords.hash_password(PASSWORD), password_changed_at=utcnow(),
                    active=True)
        found = db.session.get(Site, uuid.UUID(self.world.ids[site]))
        assert found is not None
        user.sites = [found]
        db.session.add(user)
        db.session.flush()
        return user.id

    def busy(self, label: str, worker: str | None, **where: Any) -> None:
        """A case with one of everything a home page counts (for scope checks: a case the
        viewer must never see counted): a rape inside its window, follow-ups and goals overdue,
        a late urgent referral, a closure sent back, no contact for months, high risk and no
        safety plan, a live break-glass grant, goals waiting for approval."""
        now = utcnow()
        self.case(label, worker, status="follow_up", risk="high", opened_on=date(2026, 1, 5),
                  **where)
        self.rape(label, date(2026, 11, 23), at=time(20, 0), reported=date(2026, 1, 5))
        self.follow_up(label, date(2026, 11, 24))
        self.follow_up(label, date(2026, 11, 1))
        self.goal(label, date(2026, 11, 1))
        self.referral(label, respond_by=now - timedelta(hours=2), urgency="urgent")
        self.step(label, "closure_requested", datetime(2026, 11, 20, 9, tzinfo=UTC),
                  reason="needs_met")
        self.step(label, "follow_up", datetime(2026, 11, 21, 9, tzinfo=UTC), reason="sent_back",
                  from_status="closure_requested", by="supervisor")
        self.grant(label, self.user_id("supervisor"), now + timedelta(minutes=30))


def panel(html: str, key: str) -> str | None:
    """The HTML of the home page's panel ``key`` (its ``<section id="home-key">``), or None."""
    found = re.search(rf'<section class="panel home-panel" id="home-{re.escape(key)}".*?</section>',
                      html, re.S)
    return found.group(0) if found else None


def panel_keys(html: str) -> list[str]:
    """The keys of the panels on a home page, in page order."""
    return re.findall(r'<section class="panel home-panel" id="home-([a-z0-9-]+)"', html)


def numbers(html: str) -> list[str]:
    """The fixture case numbers shown in ``html``, in order (each once per mention)."""
    return re.findall(r">(HOME-[A-Za-z0-9_-]+)<", html)
