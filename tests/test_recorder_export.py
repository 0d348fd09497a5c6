"""The Incident Recorder export (issue 15, item 7): the organisation's consented incidents in the
Incident Recorder's columns, for programme managers only, after a fresh authenticator code,
audited and alerted every time; coded columns only (nothing sealed is opened or written)."""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from app.audit import alerts
from app.audit.actions import Action
from app.audit.models import AuditEvent
from app.auth import mfa, throttle
from app.auth import service as auth_service
from app.auth.models import RecoveryCode, User
from app.cases import consent, gbvims, records, service
from app.cases.models import Case
from app.db import db
from app.directory.models import Organisation, Site
from app.reports import recorder, recorder_export, recorder_sheet
from tests.helpers.audit import events
from tests.helpers.codes import code_at
from tests.helpers.factories import CANARY, ROLES
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD
from tests.helpers.passkeys import (
    SoftAuthenticator,
    add_passkey,
    options_on,
    password_only,
    sign_in,
)

URL = "/statistics/recorder"
MANAGER = "program_manager"
CODE_COLUMNS = len(recorder.COLUMNS)


# --- Helpers -------------------------------------------------------------------------------

def _user(name, world):
    return db.session.get(User, uuid.UUID(world.users[name]))


def _consent_reporting(app, world, label, granted=True):
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids[label]))
        consent.record_consent(_user("caseworker", world), case, kind="reporting",
                               granted=granted, given_by="survivor", method="verbal")


def _survivor(app, world, name, *, reporting=True, incidents=((date(2026, 10, 3),
                                                               date(2026, 10, 5)),),
              narrative=None):
    """A new case at Tripoli with its incidents (rape by two perpetrators) and, when
    ``reporting``, consent to non-identifying statistics. Returns the case id."""
    with app.app_context():
        worker = _user("caseworker", world)
        site = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
        case = service.open_case(worker, site, service.IdentityInput(
            full_name=name, sex="female", nationality_group="foreign",
            displacement_status="refugee", disability="yes", estimated_age=30))
        consent.record_consent(worker, case, kind="services", granted=True,
                               given_by="survivor", method="verbal")
        if reporting:
            consent.record_consent(worker, case, kind="reporting", granted=True,
                                   given_by="survivor", method="verbal")
        for happened, reported in incidents:
            records.save_incident(worker, case, records.IncidentInput(
                incident_date=happened, reported_date=reported, date_is_approximate=True,
                location_type="market", answers=gbvims.answered("penetration"),
                perpetrator_count="2", survivor_age_at_incident=16,
                perpetrators=(records.PerpetratorInput("male", "26_40", "intimate_partner",
                                                       "farmer_herder"),
                              records.PerpetratorInput("male", "18_25", "no_relation",
                                                       "unemployed")),
                time_of_day="evening_night", displacement_stage="during_flight",
                narrative=narrative))
        return str(case.id)


def _post(c, **over):
    data = {"year": "2026", "file_format": "csv", "code": "",
            "csrf_token": csrf_from(c.get(URL).get_data(as_text=True))}
    data.update(over)
    return c.post(URL, data=data)


def _fresh(auth):
    """The authenticator's code one time step after the last one used."""
    return auth.code(MANAGER)


def _csv(resp):
    assert resp.status_code == 200 and resp.mimetype == "text/csv", resp.status_code
    return list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))


def _xlsx_text(body: bytes) -> str:
    """Every part of a workbook, unpacked (the file itself is compressed)."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return "".join(z.read(name).decode("utf-8") for name in z.namelist())


def _exports(app):
    with app.app_context():
        return db.session.execute(
            select(AuditEvent.outcome, AuditEvent.reason)
            .where(AuditEvent.action == Action.STATS_RECORDER_EXPORT.value)
            .order_by(AuditEvent.seq)).all()


def _error_beside(html: str, field: str) -> str:
    found = re.search(rf'id="{field}-error-1">([^<]*)<', html)
    assert found, f"no error beside {field}"
    return found.group(1)


# --- The second factor -------------------------------------------------------------------

def test_the_page_asks_for_a_code_and_shows_the_caveat(app, auth):
    html = auth.login(MANAGER).get(URL).get_data(as_text=True)
    assert 'name="code"' in html and 'autocomplete="one-time-code"' in html
    assert "not a measure of prevalence" in html
    assert 'href="/statistics/recorder"' in html  # in the manager's menu


def test_refused_without_a_code(app, auth, world):
    _consent_reporting(app, world, "case_own")
    c = auth.login(MANAGER)
    resp = _post(c, code="")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert "six-digit code" in _error_beside(resp.get_data(as_text=True), "code")
    assert _exports(app) == []


def test_refused_with_a_wrong_code_audited_and_nothing_exported(app, auth, world):
    _consent_reporting(app, world, "case_own")
    c = auth.login(MANAGER)
    good = _fresh(auth)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    resp = _post(c, code=wrong)
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "not right" in _error_beside(html, "code")
    assert wrong not in html  # the typed code is never shown back
    assert _exports(app) == [("denied", "bad_code;year:2026")]
    with app.app_context():
        assert alerts.compute()["recorder_export"] == []
    # The good code was not spent by the failure: it still works.
    assert len(_csv(_post(c, code=good))) == 4


def test_refused_with_a_replayed_code(app, auth, world, frozen):
    _consent_reporting(app, world, "case_own")
    c = auth.login(MANAGER)
    # The code that signed in is spent.
    at_login = code_at(world.secrets[MANAGER], frozen.now)
    resp = _post(c, code=at_login)
    assert "already been used" in _error_beside(resp.get_data(as_text=True), "code")
    # A fresh code works once; sent again, it is a replay.
    fresh = _fresh(auth)
    assert len(_csv(_post(c, code=fresh))) == 4
    resp = _post(c, code=fresh)
    assert resp.mimetype == "text/html"
    assert "already been used" in _error_beside(resp.get_data(as_text=True), "code")
    assert [o for o, _r in _exports(app)] == ["denied", "allowed", "denied"]
    assert _exports(app)[2] == ("denied", "replayed_code;year:2026")


def test_a_racing_request_with_the_same_code_cannot_claim_it(app, world):
    """The time step is claimed with a conditional update: of two requests that both read the
    account before either claimed the step, only the first gets it."""
    with app.app_context():
        user = _user(MANAGER, world)
        step = user.totp_last_step + 5
        db.session.expunge(user)  # the second request's copy, read before the claim
        first = _user(MANAGER, world)
        assert mfa.claim_step(first, step) is True
        assert user.totp_last_step < step  # it would pass matching_step...
        assert mfa.claim_step(user, step) is False  # ...but cannot claim the step
        assert mfa.claim_step(user, step + 1) is True  # a later step still can


def test_a_recovery_code_is_not_accepted_and_stays_unused(app, auth, world):
    _consent_reporting(app, world, "case_own")
    c = auth.login(MANAGER)
    with app.app_context():
        codes = auth_service.regenerate_recovery_codes(_user(MANAGER, world))
    resp = _post(c, code=codes[0])
    assert resp.mimetype == "text/html"
    assert "recovery code is not accepted" in _error_beside(resp.get_data(as_text=True), "code")
    assert _exports(app) == [("denied", "not_a_totp_code;year:2026")]
    with app.app_context():
        used = db.session.execute(select(RecoveryCode.used_at).where(
            RecoveryCode.user_id == uuid.UUID(world.users[MANAGER]))).scalars().all()
    assert len(used) == 10 and all(u is None for u in used)


def test_an_account_without_a_second_factor_is_refused(app, world):
    with app.test_request_context():
        user = _user(MANAGER, world)
        user.mfa_enrolled_at, user.totp_secret_sealed = None, None
        with pytest.raises(recorder_export.RecorderRefused) as refused:
            recorder_export.export(user, recorder_export.RecorderRequest(
                recorder.Period(2026), "csv", "123456"))
        assert refused.value.reason == "no_second_factor" and refused.value.field == "code"
        assert "authenticator app" in str(refused.value.message)
        db.session.rollback()
    assert _exports(app) == [("denied", "no_second_factor;year:2026")]


def test_wrong_codes_lock_the_account_and_end_the_session(app, auth, world):
    c = auth.login(MANAGER)
    for _ in range(app.config["LOGIN_ACCOUNT_MAX_FAILURES"] - 1):
        assert _post(c, code="000000").status_code == 200
    resp = _post(c, code="000000")
    assert resp.status_code == 302 and "/auth/login" in resp.location
    assert c.get(URL).status_code in (302, 401)
    with app.app_context():
        assert db.session.execute(select(AuditEvent.seq).where(
            AuditEvent.action == Action.AUTH_LOCKOUT.value)).first() is not None


# --- A passkey instead of the code ------------------------------------------------------------

def _with_passkey(app, auth, world, *, required: bool) -> SoftAuthenticator:
    """The manager registers a passkey; ``required``: the organisation then requires passkeys
    for programme managers."""
    soft = SoftAuthenticator()
    assert add_passkey(auth.login(MANAGER), soft).status_code == 302
    if required:
        with app.app_context():
            org = db.session.get(Organisation, uuid.UUID(world.ids["org"]))
            org.passkey_roles = "program_manager"
            db.session.commit()
    return soft


def _post_passkey(c, soft, **over):
    page = c.get(URL).get_data(as_text=True)
    data = {"year": "2026", "file_format": "csv", "csrf_token": csrf_from(page),
            "passkey": soft.sign(options_on(page))}
    data.update(over)
    return c.post(URL, data=data)


def test_a_passkey_confirms_the_download(app, auth, world):
    _consent_reporting(app, world, "case_own")
    soft = _with_passkey(app, auth, world, required=False)
    c = auth.login(MANAGER)
    page = c.get(URL).get_data(as_text=True)
    assert "Download, confirmed with a passkey" in page and 'name="code"' in page  # either
    assert len(_csv(_post_passkey(c, soft))) == 4
    [(outcome, reason)] = _exports(app)
    assert outcome == "allowed" and reason.endswith(";step_up")
    assert [(e.outcome, e.reason, e.object_id) for e in events(app, "auth.step_up")] == [
        ("allowed", "passkey", "recorder.download")]


def test_a_role_that_must_use_passkeys_cannot_export_with_a_code(app, auth, world):
    """The organisation requires passkeys for programme managers: the export, too, refuses
    the phishable code (recorded, not counted toward the lockout) and takes the passkey."""
    _consent_reporting(app, world, "case_own")
    soft = _with_passkey(app, auth, world, required=True)
    c = app.test_client()
    assert sign_in(c, soft, password_only(c, MANAGER, PASSWORD)).status_code == 302
    page = c.get(URL).get_data(as_text=True)
    assert 'name="code"' not in page and "Download, confirmed with a passkey" in page
    tries = app.config["LOGIN_ACCOUNT_MAX_FAILURES"]
    for _ in range(tries):  # not counted toward the lockout: each is refused the same way
        resp = _post(c, code=_fresh(auth))
        assert resp.mimetype == "text/html"
        assert "codes are not accepted" in resp.get_data(as_text=True)
    resp = _post(c)  # nothing at all: told to use the passkey, not asked for a code
    assert "codes are not accepted" in resp.get_data(as_text=True)
    assert _exports(app) == [("denied", "passkey_required;year:2026")] * tries
    with app.app_context():
        assert not throttle.is_locked(MANAGER)
    assert len(_csv(_post_passkey(c, soft))) == 4
    assert [o for o, _r in _exports(app)] == ["denied"] * tries + ["allowed"]


def test_another_accounts_or_a_replayed_passkey_answer_exports_nothing(app, auth, world):
    _consent_reporting(app, world, "case_own")
    _with_passkey(app, auth, world, required=False)
    other = SoftAuthenticator()
    assert add_passkey(auth.login("supervisor"), other).status_code == 302
    c = auth.login(MANAGER)
    resp = _post_passkey(c, other)
    assert resp.mimetype == "text/html"
    assert _exports(app) == [("denied", "passkey_other_account;year:2026")]
    page = c.get(URL).get_data(as_text=True)
    mine = _with_passkey(app, auth, world, required=False)
    c = auth.login(MANAGER)
    page = c.get(URL).get_data(as_text=True)
    answer = mine.sign(options_on(page))
    data = {"year": "2026", "file_format": "csv", "csrf_token": csrf_from(page),
            "passkey": answer}
    assert len(_csv(c.post(URL, data=data))) == 4
    resp = c.post(URL, data=data)  # the same signed answer again: its challenge is spent
    assert resp.mimetype == "text/html"
    assert [r for _o, r in _exports(app)][-1] == "passkey_challenge;year:2026"


# --- The filter ------------------------------------------------------------------------------

@pytest.mark.parametrize("year", ["", "1999", "2026-11", "abc", "all years"])
def test_a_bad_year_is_refused_before_the_code_is_checked(app, auth, world, year):
    _consent_reporting(app, world, "case_own")
    c = auth.login(MANAGER)
    fresh = _fresh(auth)
    resp = _post(c, year=year, code=fresh)
    assert resp.mimetype == "text/html"
    assert "Choose a year" in _error_beside(resp.get_data(as_text=True), "year")
    assert _exports(app) == []
    assert len(_csv(_post(c, code=fresh))) == 4  # the code was not spent


def test_a_bad_format_is_refused(app, auth):
    c = auth.login(MANAGER)
    resp = _post(c, file_format="pdf", code=_fresh(auth))
    assert resp.mimetype == "text/html"
    _error_beside(resp.get_data(as_text=True), "file_format")
    assert _exports(app) == []


def test_a_year_without_consented_incidents_exports_nothing(app, auth):
    c = auth.login(MANAGER)
    resp = _post(c, year="2025", code=_fresh(auth))
    assert resp.mimetype == "text/html"
    assert "Nothing was exported" in _error_beside(resp.get_data(as_text=True), "year")
    assert _exports(app) == [("denied", "no_data;year:2025")]


def test_one_year_or_all_years(app, auth, world):
    _survivor(app, world, "Last Year Survivor",
              incidents=((date(2025, 3, 1), date(2025, 3, 20)),))
    _survivor(app, world, "This Year Survivor")
    c = auth.login(MANAGER)
    assert [r[1] for r in _csv(_post(c, year="2025", code=_fresh(auth)))[3:]] == ["2025-03-20"]
    assert [r[1] for r in _csv(_post(c, year="all", code=_fresh(auth)))[3:]] == [
        "2025-03-20", "2026-10-05"]
    assert [r for _o, r in _exports(app)] == ["year:2025;format:csv;rows:1",
                                              "all_years;format:csv;rows:2"]


# --- What is in the file -------------------------------------------------------------------

def test_only_consented_incidents_and_every_column(app, auth, world):
    _survivor(app, world, "No Reporting Consent", reporting=False)
    _survivor(app, world, "Consented Survivor", incidents=(
        (date(2026, 9, 1), date(2026, 9, 2)), (date(2026, 10, 1), date(2026, 11, 21))))
    c = auth.login(MANAGER)
    lines = _csv(_post(c, code=_fresh(auth)))
    assert lines[0] == [str(recorder.CAVEAT)]
    assert lines[1] == list(recorder.CODES) and len(lines[2]) == CODE_COLUMNS
    data = [dict(zip(recorder.CODES, line, strict=True)) for line in lines[3:]]
    assert [d["report_date"] for d in data] == ["2026-09-02", "2026-11-21"]
    assert [d["incident_code"] for d in data] == ["IR-0001", "IR-0002"]
    first = data[0]
    assert first | {"incident_code": ""} == first | {
        "incident_code": "", "incident_date": "2026-09-01", "incident_date_approximate": "yes",
        "survivor_sex": "female", "survivor_age_group": "12_17",
        "displacement_status": "refugee", "displacement_stage": "during_flight",
        "nationality_group": "foreign", "disability": "yes", "core_type": "rape",
        "case_contexts": "child_sexual_abuse, intimate_partner_violence",
        "location_type": "market", "time_of_day": "evening_night", "report_band": "0_3_days",
        "perpetrator_count": "2", "perpetrator_1_sex": "male", "perpetrator_1_age_group": "26_40",
        "perpetrator_1_relationship": "intimate_partner",
        "perpetrator_1_occupation": "farmer_herder", "perpetrator_2_relationship": "no_relation",
        "perpetrator_3_sex": "", "referral_mhpss": "no", "referral_mhpss_outcome": "",
        "site": "TRI"}
    assert data[1]["report_band"] == "over_1_month"


def test_referrals_by_service_type_go_with_the_incident_they_followed(app, auth, world):
    # The world's own case: an incident reported 2026-11-20, then referrals to MHPSS and legal
    # aid (sent on 2026-11-24, the clock's day).
    _consent_reporting(app, world, "case_own")
    c = auth.login(MANAGER)
    line = dict(zip(recorder.CODES, _csv(_post(c, code=_fresh(auth)))[3], strict=True))
    assert line["referral_mhpss"] == line["referral_legal"] == "yes"
    assert line["referral_mhpss_outcome"] == line["referral_legal_outcome"] == "sent"
    assert line["referral_health_medical"] == "no"
    with app.app_context():
        from app.referrals.models import Referral
        db.session.execute(update(Referral).where(
            Referral.id == uuid.UUID(world.ids["ref_mhpss"])).values(
            status="completed", outcome="partially_provided"))
        db.session.commit()
        # The legal aid's answer is now overdue.
        db.session.execute(update(Referral).where(
            Referral.id == uuid.UUID(world.ids["ref_legal"])).values(
            respond_by=auth.clock.now - timedelta(hours=1)))
        db.session.commit()
    line = dict(zip(recorder.CODES, _csv(_post(c, code=_fresh(auth)))[3], strict=True))
    assert line["referral_mhpss_outcome"] == "partially_provided"
    assert line["referral_legal_outcome"] == recorder.NOT_ANSWERED_IN_TIME


def test_withdrawing_consent_removes_the_incidents(app, auth, world):
    _consent_reporting(app, world, "case_own")
    _survivor(app, world, "Stays In")
    c = auth.login(MANAGER)
    assert len(_csv(_post(c, code=_fresh(auth)))) == 5
    _consent_reporting(app, world, "case_own", granted=False)
    lines = _csv(_post(c, code=_fresh(auth)))
    assert [r[1] for r in lines[3:]] == ["2026-10-05"]
    _consent_reporting(app, world, "case_own", granted=True)  # given again: back in
    assert len(_csv(_post(c, code=_fresh(auth)))) == 5


def test_another_organisations_incidents_are_not_exported(app, auth, world):
    _consent_reporting(app, world, "case_own")
    with app.app_context():
        other = db.session.get(Site, uuid.UUID(world.ids["partner_site"]))
        db.session.execute(update(Case).where(Case.id == uuid.UUID(world.ids["case_own"]))
                           .values(organisation_id=other.organisation_id, site_id=other.id))
        db.session.commit()
    resp = _post(auth.login(MANAGER), code=_fresh(auth))
    assert "Nothing was exported" in resp.get_data(as_text=True)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_no_case_number_name_sealed_value_or_id_in_the_file(app, auth, world, file_format):
    _consent_reporting(app, world, "case_own")
    narrative = "SealedCanary-Recorder-5K2Q"
    case_id = _survivor(app, world, "Nadia Recordercanary", narrative=narrative)
    c = auth.login(MANAGER)
    resp = _post(c, code=_fresh(auth), file_format=file_format)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert f"incident-recorder-2026.{file_format}" in resp.headers["Content-Disposition"]
    body = resp.get_data()
    text = _xlsx_text(body) if file_format == "xlsx" else body.decode("utf-8-sig")
    assert "IR-0001" in text and "IR-0002" in text
    with app.app_context():
        numbers = db.session.execute(select(Case.case_number)).scalars().all()
        from app.cases.models import Incident
        incident_ids = db.session.execute(select(Incident.id)).scalars().all()
    canaries = [*CANARY.values(), narrative, "Nadia Recordercanary", "Recordercanary",
                *numbers, *world.case_numbers.values(), case_id,
                *(str(i) for i in incident_ids), *world.users.values()]
    for canary in canaries:
        assert canary not in text and canary.encode() not in body, canary


def test_the_codes_are_fresh_in_every_export(app, auth, world):
    """Codes follow the report date; incidents reported on one day are in a new random order
    each time, so a code cannot be carried from one file to another (nor follow the order in
    which cases were opened)."""
    for n in range(8):
        _survivor(app, world, f"Same Day {n}",
                  incidents=((date(2026, 9, n + 1), date(2026, 10, 5)),))
    _survivor(app, world, "Reported Later", incidents=((date(2026, 9, 1), date(2026, 10, 9)),))
    c = auth.login(MANAGER)
    orders = []
    for _ in range(4):
        lines = _csv(_post(c, code=_fresh(auth)))[3:]
        assert [r[0] for r in lines] == [f"IR-{i:04d}" for i in range(1, 10)]
        assert lines[-1][1] == "2026-10-09"  # report-date order
        orders.append(tuple(r[2] for r in lines[:8]))  # the same-day incidents, by their dates
    assert len(set(orders)) > 1
    assert all(sorted(o) == sorted(orders[0]) for o in orders)


def test_formula_cells_are_neutralised(app, auth, world):
    _consent_reporting(app, world, "case_own")
    with app.app_context():
        db.session.execute(update(Site).where(Site.id == uuid.UUID(world.ids["tripoli"]))
                           .values(code="=1+2"))
        db.session.commit()
    c = auth.login(MANAGER)
    lines = _csv(_post(c, code=_fresh(auth)))
    assert lines[3][-1] == "'=1+2"
    text = _xlsx_text(_post(c, code=_fresh(auth), file_format="xlsx").get_data())
    assert "'=1+2" in text and "<f>" not in text


def test_the_sheet_writer_writes_text_only():
    lines = [["caveat"], ["a", "b"], ["A", "B"], ["=HYPERLINK(\"x\")", "+1", "-1", "@x", "12",
                                                 "2026-11-20"]]
    body = recorder_sheet.to_xlsx(lines, rtl=True)
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet and 'rightToLeft="1"' in sheet
    cells = re.findall(r"<c [^>]*>", sheet)
    assert len(cells) == 1 + 2 + 2 + 6 and all('t="s"' in c for c in cells)  # text, never a number
    for cell in ("'=HYPERLINK", "'+1", "'-1", "'@x", ">12<", ">2026-11-20<"):
        assert cell in strings
    rows = list(csv.reader(io.StringIO(recorder_sheet.to_csv(lines).decode("utf-8-sig"))))
    assert rows[3] == ["'=HYPERLINK(\"x\")", "'+1", "'-1", "'@x", "12", "2026-11-20"]


def test_codes_stay_the_same_in_every_language(app, auth, world):
    _consent_reporting(app, world, "case_own")
    c = auth.login(MANAGER)
    english = _csv(_post(c, code=_fresh(auth)))
    c.post("/language", data={"lang": "ar", "csrf_token": auth.csrf(c)})
    arabic = _csv(_post(c, code=_fresh(auth)))
    assert english[1] == arabic[1] == list(recorder.CODES)
    assert english[2][0] == "Incident code" and len(arabic[2]) == CODE_COLUMNS
    assert english[3] == arabic[3]


# --- Secrecy: nothing is decrypted ----------------------------------------------------------

def test_the_export_decrypts_nothing(app, auth, world, monkeypatch):
    _consent_reporting(app, world, "case_own")
    _survivor(app, world, "Another Survivor", narrative="sealed words")
    c = auth.login(MANAGER)
    code = _fresh(auth)
    from app.crypto import fields, sealed

    def boom(*a, **k):
        raise AssertionError("the export decrypted a sealed value")

    monkeypatch.setattr(sealed, "open_value", boom)
    monkeypatch.setattr(fields, "open_value", boom)
    for file_format in ("csv", "xlsx"):
        resp = _post(c, code=code if file_format == "csv" else _fresh(auth),
                     file_format=file_format)
        assert resp.status_code == 200 and resp.mimetype != "text/html", resp.status_code


# --- Audit and alerts --------------------------------------------------------------------------

def test_every_download_is_audited_and_alerted(app, auth, world):
    _consent_reporting(app, world, "case_own")
    c = auth.login(MANAGER)
    _post(c, code=_fresh(auth), file_format="xlsx")
    _post(c, code="000000")
    _post(c, code=_fresh(auth), year="all")
    assert _exports(app) == [("allowed", "year:2026;format:xlsx;rows:1"),
                             ("denied", "bad_code;year:2026"),
                             ("allowed", "all_years;format:csv;rows:1")]
    with app.app_context():
        found = alerts.compute()["recorder_export"]
    assert [a.reason for a in found] == ["all_years;format:csv;rows:1",
                                         "year:2026;format:xlsx;rows:1"]
    assert {str(a.actor_id) for a in found} == {world.users[MANAGER]}
    page = auth.login("auditor").get("/audit/alerts").get_data(as_text=True)
    section = page.split('id="alerts-recorder-export"')[1].split("</section>")[0]
    assert '<span class="badge">2</span>' in section
    assert f'/audit/users/{world.users[MANAGER]}">program_manager</a>' in section
    assert "All years" in section and "Year: 2026" in section


# --- Who may ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [r for r in ROLES if r != MANAGER])
def test_other_roles_are_refused(app, auth, world, role):
    _consent_reporting(app, world, "case_own")
    c = auth.login(role)
    assert c.get(URL).status_code == 403
    resp = c.post(URL, data={"year": "2026", "file_format": "csv",
                             "code": code_at(world.secrets[role], auth.clock.now),
                             "csrf_token": auth.csrf(c)})
    assert resp.status_code == 403
    assert 'href="/statistics/recorder"' not in c.get("/").get_data(as_text=True)
    assert [o for o, _r in _exports(app)] == []
