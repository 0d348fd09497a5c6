"""Programme activity logs (awareness sessions, staff trainings), validated like safe-space
sessions: every count a bounded whole number with a positive total, no future date and none too
far back, a coded topic, only the coordinator's own active sites; every bad input gives a clear
message beside its field and writes nothing. Plus the one-time token, corrections, the month
lists with their pager, the scope (404 and audited outside it) and the audit trail."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import db
from app.directory.models import Site
from app.programme import rules
from app.programme.models import AwarenessSession, StaffTraining
from tests.helpers.forms import form_tokens
from tests.helpers.programme import (
    AWARENESS_CELLS,
    COORDINATOR,
    KINDS,
    TRAINING_CELLS,
    form_data,
    insert_log,
    log_count,
    post_log,
)

CELLS = {"awareness": AWARENESS_CELLS, "trainings": TRAINING_CELLS}
LIMIT = {"awareness": 1000, "trainings": 200}   # the largest total of one activity
LOG_LINK = re.compile(r'href="/programme/awareness/[0-9a-f-]{36}"')
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _errors(resp) -> dict[str, str]:
    """Messages beside fields (by field id) and above the grid (key "")."""
    html = resp.get_data(as_text=True)
    found = {m.group(1): m.group(2) for m in re.finditer(
        r'<p class="error-message" id="([\w-]+?)-error-\d+">([^<]+)<', html)}
    whole = re.findall(r'<p class="error-message" role="alert">([^<]+)<', html)
    if whole:
        found[""] = whole[-1]
    return found


def _events(app, action: str, outcome: str = "allowed") -> list[str | None]:
    with app.app_context():
        return [e.object_id for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == outcome)
            .order_by(AuditEvent.seq)).scalars()]


# --- The counts rule, property-based ------------------------------------------------------

def acceptable(kind: str, values: dict[str, object]) -> bool:
    """The oracle: the documented rule, restated independently."""
    if not all(type(v) is int and 0 <= v <= LIMIT[kind] for v in values.values()):
        return False
    return 1 <= sum(values.values()) <= LIMIT[kind]  # type: ignore[arg-type]


odd_value = st.one_of(st.integers(-1000, 3000), st.none(), st.booleans(), st.floats(),
                      st.text(max_size=4))


@st.composite
def records(draw: st.DrawFn, kind: str) -> dict[str, object]:
    """Mostly consistent counts near the limits, some with a value nudged or replaced."""
    cells = CELLS[kind]
    top = draw(st.sampled_from([3, LIMIT[kind] // len(cells), LIMIT[kind] // len(cells) + 2]))
    values: dict[str, object] = {c: draw(st.integers(0, top)) for c in cells}
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(cells))
        current = values[name]
        near = st.integers(current - 2, current + 2) if type(current) is int else odd_value
        values[name] = draw(st.one_of(near, odd_value))
    return values


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["awareness", "trainings"]).flatmap(
    lambda k: st.tuples(st.just(k), records(k))))
def test_rules_accept_exactly_the_consistent_counts(case):
    kind, values = case
    errors = rules.count_errors(rules.KINDS[kind], values)
    assert (errors == {}) == acceptable(kind, values), (kind, values, errors)
    assert set(errors) <= set(CELLS[kind]) | {rules.TOTAL_FIELD}


def _typed(value: object) -> st.SearchStrategy[tuple[str, object]]:
    """What a person might type for a value, and the value it means (None: not a count)."""
    if type(value) is int and value >= 0:
        return st.sampled_from([(str(value), value), (str(value).translate(ARABIC_INDIC), value),
                                (f" {value} ", value)])
    if type(value) is int:
        return st.just((str(value), value))
    return st.sampled_from([("1.5", None), ("", None), ("abc", None), ("3,0", None)])


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_the_form_saves_exactly_the_consistent_counts(app, auth, world, data):
    kind = data.draw(st.sampled_from(["awareness", "trainings"]))
    typed = {k: data.draw(_typed(v)) for k, v in data.draw(records(kind)).items()}
    client = getattr(test_the_form_saves_exactly_the_consistent_counts, "_client", None)
    if client is None or client.application is not app:
        client = auth.login(COORDINATOR)
        test_the_form_saves_exactly_the_consistent_counts._client = client  # type: ignore[attr-defined]
    before = log_count(app)
    resp = post_log(client, world, kind, **{k: text for k, (text, _v) in typed.items()})
    meant = {k: v for k, (_text, v) in typed.items()}
    event("saved" if acceptable(kind, meant) else "refused")
    if acceptable(kind, meant):
        assert resp.status_code == 302, _errors(resp)
        assert log_count(app) == before + 1
    else:
        assert resp.status_code == 200 and _errors(resp)
        assert log_count(app) == before


# --- Every bad input: a clear message, nothing written ------------------------------------

BAD = [
    # (field values, where the message is, the message)
    ({"female_10_14": "-2"}, "female_10_14", "A count cannot be negative."),
    ({"female_10_14": "1.5"}, "female_10_14", "Enter a whole number (0 if none)."),
    ({"male_25_49": "abc"}, "male_25_49", "Enter a whole number (0 if none)."),
    ({"male_25_49": ""}, "male_25_49", "Enter a whole number (0 if none)."),
    ({"female_25_49": "1001"}, "female_25_49", "At most 1000."),
    (dict.fromkeys(AWARENESS_CELLS, "0"), "",
     "Enter how many people took part. An activity no one attended is not logged."),
    (dict.fromkeys(AWARENESS_CELLS, "100") | {"male_50_plus": "101"}, "",
     "The counts add up to 1001; one activity has at most 1000 people."),
    ({"held_on": ""}, "held_on", "Enter the date of the activity."),
    ({"held_on": "24/11/2026"}, "held_on", "Not a valid date value."),
    ({"held_on": "2026-11-25"}, "held_on", "This date is in the future."),
    ({"held_on": "2024-12-31"}, "held_on",
     "Activities from before Jan 1, 2025 can no longer be logged; check the year."),
    ({"topic": ""}, "topic", "Choose a topic."),
    ({"topic": "Fatima's group"}, "topic", "Choose a topic."),
    ({"topic": "case_management"}, "topic", "Choose a topic."),  # a training topic
    ({"site": ""}, "site", "You can only log activities at your own sites."),
    ({"site": "not-a-site"}, "site", "You can only log activities at your own sites."),
]
BAD_TRAINING = [
    ({"female_own": "201"}, "female_own", "At most 200."),
    ({"female_own": "100", "male_own": "50", "female_partner": "40", "male_partner": "11"}, "",
     "The counts add up to 201; one activity has at most 200 people."),
    (dict.fromkeys(TRAINING_CELLS, "0"), "",
     "Enter how many people took part. An activity no one attended is not logged."),
    ({"topic": "gbv_basics"}, "topic", "Choose a topic."),  # an awareness topic
    ({"held_on": "2026-12-01"}, "held_on", "This date is in the future."),
]


@pytest.mark.parametrize(("kind", "values", "where", "message"),
                         [("awareness", *b) for b in BAD] + [("trainings", *b) for b in BAD_TRAINING]
                         + [("trainings", *b) for b in BAD if "site" in b[0] or "held_on" in b[0]])
def test_bad_input_is_refused_beside_its_field_and_writes_nothing(app, auth, world, kind, values,
                                                                   where, message):
    c = auth.login(COORDINATOR)
    resp = post_log(c, world, kind, **values)
    assert resp.status_code == 200
    errors = _errors(resp)
    assert errors.get(where) == message, errors
    assert log_count(app) == 0
    assert _events(app, f"{'awareness_session' if kind == 'awareness' else 'staff_training'}"
                        ".create") == []


@pytest.mark.parametrize("kind", ["awareness", "trainings"])
def test_a_valid_log_is_saved_audited_and_listed(app, auth, world, kind):
    c = auth.login(COORDINATOR)
    resp = post_log(c, world, kind, held_on="2025-01-01")  # the earliest date still taken
    assert resp.status_code == 302
    site = world.ids["tripoli"]
    assert resp.location.endswith(f"/programme/sites/{site}/{kind}?month=2025-01")
    model, counts, topic = KINDS[kind]
    with app.app_context():
        log = db.session.execute(select(model)).scalar_one()
        assert (str(log.site_id), log.held_on, log.topic) == (site, date(2025, 1, 1), topic)
        assert {c: getattr(log, c) for c in counts} == counts
        assert str(log.recorded_by_id) == world.users[COORDINATOR]
        log_id = str(log.id)
    action = "awareness_session" if kind == "awareness" else "staff_training"
    assert _events(app, f"{action}.create") == [log_id]
    page = c.get(resp.location).get_data(as_text=True)
    assert f"/programme/{kind}/{log_id}" in page and str(sum(counts.values())) in page


@pytest.mark.parametrize("kind", ["awareness", "trainings"])
def test_a_form_sent_twice_saves_one_log(app, auth, world, kind):
    c = auth.login(COORDINATOR)
    path = f"/programme/{kind}/new"
    data = {**form_data(world, kind), **form_tokens(c.get(path).get_data(as_text=True))}
    first, second = c.post(path, data=data), c.post(path, data=data)
    assert first.status_code == second.status_code == 302
    assert log_count(app, kind) == 1
    with app.app_context():
        log_id = str(db.session.execute(select(KINDS[kind][0].id)).scalar_one())
    assert second.location.endswith(f"/programme/{kind}/{log_id}")


def _close(app, world, label: str = "tripoli") -> None:
    with app.app_context():
        db.session.get(Site, uuid.UUID(world.ids[label])).active = False
        db.session.commit()


def test_a_closed_site_takes_no_new_log_but_its_logs_can_be_corrected(app, auth, world):
    old = insert_log(app, world, "awareness")
    _close(app, world)
    c = auth.login(COORDINATOR)
    resp = post_log(c, world, "awareness")
    assert _errors(resp).get("site") == ("This site is closed; no new activities can be logged "
                                         "there.")
    assert log_count(app) == 1
    resp = post_log(c, world, "awareness", path=f"/programme/awareness/{old}", version="1",
                    male_50_plus="4")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(AwarenessSession, uuid.UUID(old)).male_50_plus == 4


def test_a_correction_may_keep_an_old_date_but_not_move_to_one(app, auth, world):
    old = insert_log(app, world, "trainings", held_on=date(2023, 6, 1))
    c = auth.login(COORDINATOR)
    path = f"/programme/trainings/{old}"
    resp = post_log(c, world, "trainings", path=path, version="1", held_on="2023-06-01",
                    male_partner="3")
    assert resp.status_code == 302
    resp = post_log(c, world, "trainings", path=path, version="2", held_on="2023-05-31")
    assert "held_on" in _errors(resp)
    with app.app_context():
        log = db.session.get(StaffTraining, uuid.UUID(old))
        assert (log.held_on, log.male_partner, log.version) == (date(2023, 6, 1), 3, 2)
    assert _events(app, "staff_training.update") == [old]


# --- Scope ---------------------------------------------------------------------------------

@pytest.mark.parametrize("site", ["benghazi", "partner_site"])
def test_another_sites_logs_answer_404_and_are_audited(app, auth, world, site):
    aw = insert_log(app, world, "awareness", site=site)
    tr = insert_log(app, world, "trainings", site=site)
    c = auth.login(COORDINATOR)
    for kind, log in (("awareness", aw), ("trainings", tr)):
        assert c.get(f"/programme/{kind}/{log}").status_code == 404
        tokens = form_tokens(c.get(f"/programme/{kind}/new").get_data(as_text=True))
        resp = c.post(f"/programme/{kind}/{log}", data={**form_data(world, kind, version="1"),
                                                       **tokens})
        assert resp.status_code == 404
        assert c.get(f"/programme/sites/{world.ids[site]}/{kind}").status_code == 404
    missing = str(uuid.uuid4())
    assert c.get(f"/programme/awareness/{missing}").status_code == 404  # same answer
    assert _events(app, "awareness_session.view", "denied") == [aw, missing]
    assert _events(app, "awareness_session.update", "denied") == [aw]
    assert _events(app, "staff_training.update", "denied") == [tr]
    assert _events(app, "awareness_session.list", "denied") == [world.ids[site]]
    assert _events(app, "staff_training.list", "denied") == [world.ids[site]]
    with app.app_context():
        assert db.session.get(AwarenessSession, uuid.UUID(aw)).version == 1


@pytest.mark.parametrize("site", ["benghazi", "partner_site"])
def test_logging_at_another_site_is_refused_and_audited(app, auth, world, site):
    c = auth.login(COORDINATOR)
    resp = post_log(c, world, "trainings", site=world.ids[site])
    assert _errors(resp).get("site") == "You can only log activities at your own sites."
    assert log_count(app) == 0
    assert _events(app, "staff_training.create", "denied") == [world.ids[site]]
    own = insert_log(app, world, "trainings")
    resp = post_log(c, world, "trainings", path=f"/programme/trainings/{own}", version="1",
                    site=world.ids[site])
    assert "site" in _errors(resp)
    with app.app_context():
        assert str(db.session.get(StaffTraining, uuid.UUID(own)).site_id) == world.ids["tripoli"]


def test_the_index_lists_only_the_coordinators_sites(app, auth, world):
    page = auth.login(COORDINATOR).get("/programme/").get_data(as_text=True)
    assert "Tripoli" in page and "Benghazi" not in page and "Partner Site" not in page
    assert f"/programme/sites/{world.ids['tripoli']}/awareness" in page


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "program_manager", "admin"])
def test_other_roles_open_no_log(app, auth, world, role):
    log = insert_log(app, world, "awareness")
    c = auth.login(role)
    for path in (f"/programme/awareness/{log}", f"/programme/sites/{world.ids['tripoli']}/awareness",
                 "/programme/", "/programme/trainings/new"):
        assert c.get(path).status_code == 403


# --- The month lists -----------------------------------------------------------------------

def test_the_month_list_pages_fifty_at_a_time_and_keeps_the_month(app, auth, world):
    for day in range(1, 27):
        for _ in range(2):
            insert_log(app, world, "awareness", held_on=date(2026, 10, day))
    insert_log(app, world, "awareness", held_on=date(2026, 9, 30))  # another month
    c = auth.login(COORDINATOR)
    base = f"/programme/sites/{world.ids['tripoli']}/awareness"
    first = c.get(f"{base}?month=2026-10").get_data(as_text=True)
    assert len(LOG_LINK.findall(first)) == 50
    assert f'href="{base}?month=2026-10&amp;page=2"' in first
    second = c.get(f"{base}?month=2026-10&page=2").get_data(as_text=True)
    assert len(LOG_LINK.findall(second)) == 2
    assert "Previous</a>" in second
    september = c.get(f"{base}?month=2026-09").get_data(as_text=True)
    assert len(LOG_LINK.findall(september)) == 1
    bad = c.get(f"{base}?month=2026-13")
    assert bad.status_code == 200 and not LOG_LINK.findall(bad.get_data(as_text=True))
    assert _reasons(app, "awareness_session.list") == [
        "month:2026-10", "month:2026-10", "month:2026-09", "invalid_month"]


def _reasons(app, action: str) -> list[str | None]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.reason).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)).scalars())


def test_no_log_holds_text_a_person_typed(app):
    """Codes, dates, ids and counts only: nothing a name could be written into."""
    for model in (AwarenessSession, StaffTraining):
        text = [c.name for c in model.__table__.columns
                if c.type.python_type is str and c.name != "topic"]
        assert text == [], model.__tablename__
