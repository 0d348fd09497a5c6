"""Helpers for the programme log tests: form data for an awareness session or a staff training,
posting it as the coordinator, counting logs, and logs written straight to the database (for
sites the coordinator cannot reach, and for the statistics fixtures)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select

from app.db import db
from app.programme.models import AwarenessSession, StaffTraining
from tests.helpers.forms import form_tokens

COORDINATOR = "wgss_coordinator"
# Written out here rather than taken from the code under test.
AWARENESS_CELLS = ("female_10_14", "female_15_19", "female_20_24", "female_25_49",
                   "female_50_plus", "male_10_14", "male_15_19", "male_20_24", "male_25_49",
                   "male_50_plus")
TRAINING_CELLS = ("female_own", "male_own", "female_partner", "male_partner")
# A valid awareness session: 23 reached (women and girls 3 + 5 + 4 + 6 + 0, men and boys 2 + 3).
AWARENESS_COUNTS = {"female_10_14": 3, "female_15_19": 5, "female_20_24": 4,
                    "female_25_49": 6, "female_50_plus": 0, "male_10_14": 2, "male_15_19": 3,
                    "male_20_24": 0, "male_25_49": 0, "male_50_plus": 0}
# A valid staff training: 12 trained.
TRAINING_COUNTS = {"female_own": 5, "male_own": 2, "female_partner": 4, "male_partner": 1}
KINDS = {"awareness": (AwarenessSession, AWARENESS_COUNTS, "gbv_basics"),
         "trainings": (StaffTraining, TRAINING_COUNTS, "case_management")}


def form_data(world, kind: str, **over: Any) -> dict[str, Any]:
    """Form fields of a valid log of ``kind`` at the coordinator's site (override any)."""
    _model, counts, topic = KINDS[kind]
    data: dict[str, Any] = {"site": world.ids["tripoli"], "held_on": "2026-11-20",
                            "topic": topic, "version": ""}
    data.update({k: str(v) for k, v in counts.items()})
    data.update(over)
    return data


def post_log(client, world, kind: str, path: str | None = None, **over: Any):
    """Post the form of ``kind`` (fetching its tokens from ``path`` first, as a browser
    would)."""
    path = path or f"/programme/{kind}/new"
    tokens = form_tokens(client.get(path).get_data(as_text=True))
    return client.post(path, data={**form_data(world, kind, **over), **tokens})


def log_count(app, kind: str | None = None) -> int:
    """How many logs of ``kind`` (of both kinds when None) exist."""
    models = [KINDS[kind][0]] if kind else [m for m, _c, _t in KINDS.values()]
    with app.app_context():
        return sum(int(db.session.execute(select(func.count(m.id))).scalar_one())
                   for m in models)


def insert_log(app, world, kind: str, *, site: str = "tripoli",
               held_on: date = date(2026, 11, 20), topic: str | None = None,
               **counts: int) -> str:
    """A log written directly (no scope or rule check); unnamed cells are 0 when ``counts``
    names any, else the valid defaults."""
    model, defaults, default_topic = KINDS[kind]
    values = (dict.fromkeys(defaults, 0) | counts) if counts else dict(defaults)
    with app.app_context():
        entry = model(site_id=uuid.UUID(world.ids[site]), held_on=held_on,
                      topic=topic or default_topic,
                      recorded_by_id=uuid.UUID(world.users[COORDINATOR]), **values)
        db.session.add(entry)
        db.session.commit()
        return str(entry.id)
