"""Demo session logs for ``flask demo seed``: a few sessions of the current and previous month
at the demo safe space, so its monthly summary and chart have something to show. Idempotent:
nothing is added once the space has any session. Counts only; the notes hold no names."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import User
from app.db import db
from app.directory.models import SafeSpace
from app.localtime import organisation_zone
from app.localtime import today as local_today
from app.safe_space import service
from app.safe_space.models import ActivityType, WgssSession

# (days ago, activity code, topic, girls 10–14, girls 15–17, women 18–19, 20–24, 25–49, 50+,
#  new, disabilities, case-management requests, referrals)
SESSIONS = (
    (2, "psychosocial_support", "Coping with stress", 0, 2, 1, 3, 6, 1, 3, 1, 1, 1),
    (5, "life_skills", "Communication at home", 4, 5, 0, 0, 0, 0, 2, 0, 0, 0),
    (9, "skills_training", "Sewing, week 3", 0, 0, 2, 4, 5, 2, 1, 1, 0, 0),
    (16, "awareness", "Where to find help", 3, 3, 1, 2, 7, 3, 6, 2, 2, 3),
    (33, "recreation", "Drawing and music", 6, 4, 0, 1, 2, 0, 5, 0, 0, 0),
    (40, "literacy_numeracy", "Reading group", 0, 1, 1, 2, 4, 1, 2, 0, 0, 0),
)


def seed_sessions(space: SafeSpace, coordinator: User) -> int:
    """Log the demo sessions as ``coordinator`` (through the service, so they are audited);
    returns how many were added (none when the space already has sessions)."""
    if db.session.execute(select(WgssSession.id).where(
            WgssSession.safe_space_id == space.id).limit(1)).first():
        return 0
    types = {t.code: t.id for t in db.session.execute(select(ActivityType)).scalars()}
    today = local_today(organisation_zone(space.organisation_id))
    added = 0
    for days, code, topic, *counts in SESSIONS:
        held_on = today - timedelta(days=days)
        if code not in types or (space.opened_on and held_on < space.opened_on):
            continue
        g10, g15, w18, w20, w25, w50, new, disabilities, requests, referrals = counts
        total = g10 + g15 + w18 + w20 + w25 + w50
        service.save_session(coordinator, service.SessionLog(
            safe_space_id=space.id, activity_type_id=types[code], held_on=held_on, topic=topic,
            duration_minutes=90, facilitator_ids=(coordinator.id,), girls_10_14=g10,
            girls_15_19=g15, women_15_19=w18, women_20_24=w20, women_25_49=w25,
            women_50_plus=w50, new_participants=new, returning_participants=total - new,
            with_disabilities=disabilities, case_management_requests=requests,
            referrals_made=referrals,
            notes="Demo session: the group asked for more sessions like this one."))
        added += 1
    return added
