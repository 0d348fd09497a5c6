"""Time matters for rape (issue 14, item 5): the 72-hour clinical window counts from the incident's
time in the organisation's time zone, never from UTC midnight; an incident in the future is
refused beside its field; each organisation has a validated time zone; times are shown in it,
the zone named on deadlines; the task says "awaiting answer" once the clinical referral is sent.

The clock is frozen at 2026-11-24 10:00 UTC (12:00 in Africa/Tripoli, UTC+2 all year)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.cases import gbvims
from app.cases.models import Incident
from app.db import db
from app.directory import service as directory_service
from app.directory.models import Organisation, Service
from app.referrals.models import Referral
from tests.helpers.apps import make_app
from tests.helpers.forms import form_tokens
from tests.helpers.incidents import incident_form

TRIPOLI = ZoneInfo("Africa/Tripoli")


# --- The window, as a rule ------------------------------------------------------------------------

def test_window_counts_from_the_incident_time_in_the_organisations_zone():
    # 23:00 in Tripoli on the 21st is 21:00 UTC: the window closes 72 hours later, not 72 hours
    # after UTC midnight (which would be the 25th at 00:00).
    end = gbvims.clinical_window_end(date(2026, 11, 21), at=time(23, 0), zone=TRIPOLI)
    assert end == datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert gbvims.hours_left(date(2026, 11, 21), now, at=time(23, 0), zone=TRIPOLI) == 11
    assert gbvims.urgent_clinical("rape", date(2026, 11, 21), now, at=time(23, 0), zone=TRIPOLI)
    # An incident at 08:00 local on the 21st: the window closed at 06:00 UTC on the 24th.
    assert not gbvims.urgent_clinical("rape", date(2026, 11, 21), now, at=time(8, 0),
                                      zone=TRIPOLI)


@pytest.mark.parametrize("part,ends_utc", [
    ("morning", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),      # 12:00 local + 72 h
    ("afternoon", datetime(2026, 11, 24, 16, 0, tzinfo=UTC)),    # 18:00 local + 72 h
    ("evening_night", datetime(2026, 11, 24, 22, 0, tzinfo=UTC)),  # end of the local day
    ("unknown", datetime(2026, 11, 24, 22, 0, tzinfo=UTC)),
    (None, datetime(2026, 11, 24, 22, 0, tzinfo=UTC)),
])
def test_without_a_time_the_window_counts_from_the_end_of_the_part_of_day(part, ends_utc):
    assert gbvims.clinical_window_end(date(2026, 11, 21), part=part, zone=TRIPOLI) == ends_utc


def test_a_known_time_outranks_the_part_of_day():
    end = gbvims.clinical_window_end(date(2026, 11, 21), at=time(7, 30), part="evening_night",
                                     zone=TRIPOLI)
    assert end == datetime(2026, 11, 24, 5, 30, tzinfo=UTC)


def test_the_window_is_72_elapsed_hours_across_a_clock_change():
    # Berlin moves to summer time on 29 March 2026: 72 hours after 23:00 CET on the 28th
    # (22:00 UTC) is 22:00 UTC on the 31st (00:00 CEST on 1 April), not 23:00 local wall time.
    berlin = ZoneInfo("Europe/Berlin")
    end = gbvims.clinical_window_end(date(2026, 3, 28), at=time(23, 0), zone=berlin)
    assert end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def test_in_future_is_judged_in_the_organisations_zone():
    now = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # already 01:00 on the 25th in Tripoli
    assert not gbvims.in_future(date(2026, 11, 25), None, now, TRIPOLI)
    assert not gbvims.in_future(date(2026, 11, 25), time(0, 30), now, TRIPOLI)
    assert gbvims.in_future(date(2026, 11, 25), time(1, 30), now, TRIPOLI)
    assert gbvims.in_future(date(2026, 11, 26), None, now, TRIPOLI)
    assert gbvims.in_future(date(2026, 11, 25), None, now, UTC)


# --- Through the screens ----------------------------------------------------------------------------

def _incident_data(day: date, at: str = "", part: str = "unknown",
                   reported: date = date(2026, 11, 24)) -> dict[str, str]:
    return incident_form("penetration", incident_date=day.isoformat(),
                         reported_date=reported.isoformat(), incident_time=at,
                         location_type="home_survivor", time_of_day=part,
                         displacement_stage="not_displaced")


def _record_incident(c, case_id, **data):
    page = c.get(f"/cases/{case_id}/incidents/new").get_data(as_text=True)
    return c.post(f"/cases/{case_id}/incidents/new",
                  data={**_incident_data(**data), **form_tokens(page)})


def _set_zone(app, org_id, name):
    with app.app_context():
        db.session.get(Organisation, uuid.UUID(org_id)).time_zone = name
        db.session.commit()


def _hours_until(frozen, hour_utc):
    """Whole hours from the (frozen) now to ``hour_utc`` o'clock UTC on the 24th, as the task
    list shows them (logging in moves the frozen clock on a little)."""
    end = datetime(2026, 11, 24, hour_utc, 0, tzinfo=UTC)
    return int((end - frozen.now).total_seconds() // 3600)


def _incidents(app):
    with app.app_context():
        return db.session.execute(select(sa.func.count()).select_from(Incident)).scalar_one()


def test_task_counts_down_from_the_incident_time_and_names_the_zone(app, auth, world, frozen):
    _set_zone(app, world.ids["org"], "Africa/Tripoli")
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    r = _record_incident(c, cid, day=date(2026, 11, 21), at="23:00")
    assert r.status_code == 302
    with app.app_context():
        saved = db.session.execute(select(Incident).where(
            Incident.case_id == uuid.UUID(cid))).scalars().all()
        assert [i.incident_time for i in saved if i.incident_time] == [time(23, 0)]
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    # 21:00 UTC on the 24th is 11 hours away (from UTC midnight it would have been 14).
    assert f"{_hours_until(frozen, 21)} hours left" in tasks
    assert "Clinical window ends Nov 24, 2026, 11:00:00\u202fPM (Africa/Tripoli)" in tasks \
        or "Clinical window ends Nov 24, 2026, 11:00:00 PM (Africa/Tripoli)" in tasks
    case_page = c.get(f"/cases/{cid}").get_data(as_text=True)
    assert "(Africa/Tripoli)" in case_page and "23:00" in case_page


def test_times_on_a_page_are_shown_in_the_organisations_zone(app, auth, world, frozen):
    # Tokyo is UTC+9: 23:00 there on the 21st is 14:00 UTC, so the window closes at 14:00 UTC
    # on the 24th, shown as 11:00 PM in Tokyo with the zone named.
    _set_zone(app, world.ids["org"], "Asia/Tokyo")
    c = auth.login("caseworker")
    assert _record_incident(c, world.ids["case_own"], day=date(2026, 11, 21),
                            at="23:00").status_code == 302
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    assert f"{_hours_until(frozen, 14)} hours left" in tasks and "(Asia/Tokyo)" in tasks
    assert "11:00:00" in tasks and "(Africa/Tripoli)" not in tasks
    _set_zone(app, world.ids["org"], "Africa/Tripoli")
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    # The same incident now counts from 23:00 in Tripoli (21:00 UTC).
    assert f"{_hours_until(frozen, 21)} hours left" in tasks and "(Africa/Tripoli)" in tasks


def test_part_of_day_fallback_on_the_task_list(app, auth, world, frozen):
    _set_zone(app, world.ids["org"], "Africa/Tripoli")
    c = auth.login("caseworker")
    assert _record_incident(c, world.ids["case_own"], day=date(2026, 11, 21),
                            part="afternoon").status_code == 302
    # The afternoon ends at 18:00 local (16:00 UTC): 6 hours left at 10:00 UTC.
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    assert f"{_hours_until(frozen, 16)} hours left" in tasks


def test_an_incident_time_in_the_future_is_refused_beside_the_field(app, auth, world, frozen):
    _set_zone(app, world.ids["org"], "Africa/Tripoli")
    c = auth.login("caseworker")
    before = _incidents(app)
    r = _record_incident(c, world.ids["case_own"], day=date(2026, 11, 24), at="13:00")  # 11:00 UTC
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="incident_time-error-1"' in html
    assert "The incident cannot be in the future." in html
    assert _incidents(app) == before
    assert _record_incident(c, world.ids["case_own"], day=date(2026, 11, 24),
                            at="11:30").status_code == 302  # 09:30 UTC: already past
    assert _incidents(app) == before + 1


def test_today_is_the_organisations_today(app, auth, world, frozen):
    # 23:00 UTC on the 24th is already 01:00 on the 25th in Tripoli: an incident on the 25th at
    # 00:30 is in the past there, one at 02:00 is not.
    _set_zone(app, world.ids["org"], "Africa/Tripoli")
    frozen.advance(hours=13)
    c = auth.login("caseworker")
    before = _incidents(app)
    data = {"day": date(2026, 11, 25), "reported": date(2026, 11, 25)}
    r = _record_incident(c, world.ids["case_own"], at="02:00", **data)
    assert r.status_code == 200 and 'id="incident_time-error-1"' in r.get_data(as_text=True)
    assert _incidents(app) == before
    assert _record_incident(c, world.ids["case_own"], at="00:30", **data).status_code == 302
    assert _incidents(app) == before + 1


def test_the_time_zone_setting_is_validated_beside_the_field(app, auth, world):
    a = auth.login("admin")
    url = f"/admin/directory/organisation/{world.ids['org']}"
    page = a.get(url).get_data(as_text=True)
    assert 'name="time_zone"' in page
    with app.app_context():
        org = db.session.get(Organisation, uuid.UUID(world.ids["org"]))
        name, version, zone = org.name, str(org.version), org.time_zone
    base = {"name": name, "active": "y", "version": version, **form_tokens(page)}
    r = a.post(url, data={**base, "time_zone": "Mars/Olympus_Mons"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="time_zone-error-1"' in html and "Unknown time zone" in html
    with app.app_context():
        assert db.session.get(Organisation, uuid.UUID(world.ids["org"])).time_zone == zone
    r = a.post(url, data={**base, "time_zone": "Africa/Cairo"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Organisation, uuid.UUID(world.ids["org"])).time_zone == "Africa/Cairo"


def test_the_directory_service_refuses_an_unknown_zone(app, world):
    with app.app_context():
        org = db.session.get(Organisation, uuid.UUID(world.ids["org"]))
        with pytest.raises(directory_service.DirectoryError):
            directory_service.update_record(org, {"time_zone": "Libya/Tripoli"},
                                            expected_version=org.version,
                                            action=directory_service.Action.ORGANISATION_UPDATE,
                                            object_type=directory_service.ObjectType.ORGANISATION)
        db.session.rollback()
        assert db.session.get(Organisation, uuid.UUID(world.ids["org"])).time_zone != "Libya/Tripoli"
        assert directory_service.clean_time_zone("  ") is None
        assert directory_service.clean_time_zone("Africa/Tripoli") == "Africa/Tripoli"


def test_task_says_awaiting_answer_once_the_clinical_referral_is_sent(app, auth, world, frozen):
    _set_zone(app, world.ids["org"], "Africa/Tripoli")
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    assert _record_incident(c, cid, day=date(2026, 11, 23), at="20:00").status_code == 302
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    assert "refer for clinical care now" in tasks and "awaiting answer" not in tasks
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    c.post(f"/cases/{cid}/consent", data={"kind": "share:health_medical", "granted": "yes",
                                         "given_by": "survivor", "method": "verbal",
                                         **form_tokens(page, f"/cases/{cid}/consent")})
    with app.app_context():
        clinic = Service(organisation_id=uuid.UUID(world.ids["org"]), name="Clinic",
                         service_type="health_medical")
        db.session.add(clinic)
        db.session.commit()
        clinic_id = str(clinic.id)
    page = c.get(f"/referrals/new/{cid}").get_data(as_text=True)
    r = c.post(f"/referrals/new/{cid}", data={
        "service": clinic_id, "urgency": "normal", "message": "", "override_code": "",
        "override_reason": "", **form_tokens(page)})
    assert r.status_code == 302
    with app.app_context():
        ref = db.session.execute(select(Referral).where(
            Referral.service_id == uuid.UUID(clinic_id))).scalar_one()
        ref_id, due = str(ref.id), ref.respond_by.astimezone(TRIPOLI)
    sent = c.get(f"/referrals/{ref_id}/sent").get_data(as_text=True)
    # The answer's deadline in the organisation's zone, the zone named.
    assert f"{due.hour - 12}:{due:%M:%S}" in sent and "(Africa/Tripoli)" in sent
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    assert "clinical referral sent: awaiting answer" in tasks
    assert "refer for clinical care now" not in tasks
    # Editing the incident now says the same, not "refer now".
    with app.app_context():
        inc = db.session.execute(select(Incident).where(
            Incident.case_id == uuid.UUID(cid), Incident.incident_time.is_not(None))).scalar_one()
        inc_id, version = str(inc.id), str(inc.version)
    url = f"/cases/{cid}/incidents/{inc_id}"
    page = c.get(url).get_data(as_text=True)
    r = c.post(url, data={**_incident_data(date(2026, 11, 23), at="20:00"), "version": version,
                          **form_tokens(page)}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "awaiting answer" in html and "refer for clinical care now" not in html


def test_an_organisation_without_a_zone_uses_the_instance_default(app, auth, world, frozen):
    _set_zone(app, world.ids["org"], None)
    app.config["DEFAULT_TIMEZONE"] = "Asia/Tokyo"
    c = auth.login("caseworker")
    assert _record_incident(c, world.ids["case_own"], day=date(2026, 11, 21),
                            at="23:00").status_code == 302
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    assert f"{_hours_until(frozen, 14)} hours left" in tasks and "(Asia/Tokyo)" in tasks


def test_an_unknown_default_zone_stops_start_up(db_uri, instance_dir):
    with pytest.raises(RuntimeError, match="AMANA_DEFAULT_TIMEZONE"):
        make_app(db_uri, instance_dir, DEFAULT_TIMEZONE="Mars/Olympus_Mons")
