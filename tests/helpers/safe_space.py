"""Helpers for the safe-space tests: form data for a session, posting it as a coordinator, and
session logs written straight to the database (for spaces the coordinator cannot reach)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select

from app.auth.models import User
from app.db import db
from app.safe_space.models import ActivityType, WgssSession
from tests.helpers.forms import form_tokens

COORDINATOR = "wgss_coordinator"
# A valid session: 15 attended (girls 3 + 2, women 1 + 4 + 5), 5 new and 10 returning.
COUNTS = {"girls_10_14": 3, "girls_15_19": 2, "women_15_19": 1, "women_20_24": 4,
          "women_25_49": 5, "women_50_plus": 0, "new_participants": 5,
          "returning_participants": 10, "with_disabilities": 1, "case_management_requests": 2,
          "referrals_made": 1}


def type_id(app, code: str) -> str:
    """The id of an activity type by code."""
    with app.app_context():
        return str(db.session.execute(
            select(ActivityType.id).where(ActivityType.code == code)).scalar_one())


def form_data(app, world, **over: Any) -> dict[str, Any]:
    """Form fields of a valid session at the coordinator's safe space (override any)."""
    data: dict[str, Any] = {
        "safe_space": world.ids["safe_space"], "held_on": "2026-11-20",
        "activity_type": type_id(app, "life_skills"), "topic": "Stress management",
        "outreach_area": "", "facilitators": [world.users[COORDINATOR]],
        "duration_minutes": "90", "notes": "", "version": "",
    }
    data.update({k: str(v) for k, v in COUNTS.items()})
    data.update(over)
    return data


def post_session(client, app, world, path: str = "/safe-spaces/sessions/new", **over: Any):
    """Post the session form (fetching its tokens from ``path`` first, as a browser would)."""
    tokens = form_tokens(client.get(path).get_data(as_text=True))
    return client.post(path, data={**form_data(app, world, **over), **tokens})


def session_count(app) -> int:
    """How many session logs exist."""
    with app.app_context():
        return int(db.session.execute(select(func.count(WgssSession.id))).scalar_one())


def insert_session(app, world, *, space: str = "safe_space", held_on: date = date(2026, 11, 20),
                   code: str = "life_skills", notes: str | None = None, **counts: int) -> str:
    """A session log written directly (no scope check): for spaces the coordinator lacks."""
    with app.app_context():
        values = {**COUNTS, **counts}
        entry = WgssSession(
            safe_space_id=uuid.UUID(world.ids[space]), held_on=held_on, topic="Direct topic",
            activity_type_id=uuid.UUID(type_id(app, code)), duration_minutes=60,
            recorded_by_id=uuid.UUID(world.users[COORDINATOR]), **values)
        entry.facilitators = [db.session.get(User, uuid.UUID(world.users[COORDINATOR]))]
        entry.notes = notes  # type: ignore[assignment]
        db.session.add(entry)
        db.session.commit()
        return str(entry.id)
