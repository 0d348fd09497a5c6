"""Services a provider records on a referral: a closed list of services, dates checked, notes
sealed under the referral's key; the provider's service sees its own entries only, the
caseworker the date and service always and the notes only with the survivor's consent."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.crypto.errors import DecryptionError
from app.db import db
from app.referrals import service
from app.referrals.models import ReferralServiceRecord
from tests.helpers.audit import events
from tests.helpers.forms import form_tokens
from tests.helpers.onward import accept, referral, services, share_consent, user

NOTE = "ServiceNoteCanary-Q7-unique"


def _count(app) -> int:
    with app.app_context():
        return db.session.execute(
            select(sa.func.count()).select_from(ReferralServiceRecord)).scalar_one()


def _accepted(app, world) -> None:
    with app.test_request_context():
        accept(user(world, "service_provider"), world.ids["ref_mhpss"])


def _post(c, world, **over):
    url = f"/referrals/{world.ids['ref_mhpss']}"
    page = c.get(url).get_data(as_text=True)
    data = {"given_on": "", "service_code": "counselling_session", "notes": NOTE,
            **form_tokens(page)}
    data.update(over)
    return c.post(f"{url}/services", data=data)


def _today(app) -> date:
    from app.clock import utcnow

    with app.app_context():
        return utcnow().date()


def test_provider_records_a_service_and_sees_it(app, auth, world):
    _accepted(app, world)
    sp = auth.login("service_provider")
    before = _count(app)
    r = _post(sp, world, given_on=_today(app).isoformat())
    assert r.status_code == 302 and _count(app) == before + 1
    page = sp.get(f"/referrals/{world.ids['ref_mhpss']}").get_data(as_text=True)
    assert "Counselling session" in page and NOTE in page
    assert events(app, "referral.service_record", outcome="allowed")


def test_posted_twice_records_once(app, auth, world):
    _accepted(app, world)
    sp = auth.login("service_provider")
    url = f"/referrals/{world.ids['ref_mhpss']}"
    page = sp.get(url).get_data(as_text=True)
    data = {"given_on": _today(app).isoformat(), "service_code": "assessment", "notes": "",
            **form_tokens(page)}
    before = _count(app)
    assert sp.post(f"{url}/services", data=data).status_code == 302
    assert sp.post(f"{url}/services", data=data).status_code == 302
    assert _count(app) == before + 1


def test_bad_dates_and_codes_are_refused_beside_their_field(app, auth, world):
    _accepted(app, world)
    sp = auth.login("service_provider")
    before = _count(app)
    future = _post(sp, world, given_on=(_today(app) + timedelta(days=2)).isoformat())
    assert future.status_code == 200 and "This date is in the future." in future.get_data(
        as_text=True)
    early = _post(sp, world, given_on=(_today(app) - timedelta(days=400)).isoformat())
    assert early.status_code == 200 and "before the referral was sent" in early.get_data(
        as_text=True)
    code = _post(sp, world, given_on=_today(app).isoformat(), service_code="surgery")
    assert code.status_code == 200 and "from the list" in code.get_data(as_text=True)
    empty = _post(sp, world, service_code="")
    assert empty.status_code == 200
    assert _count(app) == before
    reasons = {e.reason for e in events(app, "referral.service_record", outcome="denied")}
    assert {"date_in_future", "date_before_sent", "bad_service_code"} <= reasons
    assert NOTE not in str([e.reason for e in events(app)])


def test_refused_on_a_referral_not_accepted(app, auth, world):
    from app.referrals import service_records

    before = _count(app)
    with app.test_request_context(), pytest.raises(service.ReferralError, match="accepted"):
        service_records.add(user(world, "service_provider"), referral(world.ids["ref_mhpss"]),
                            service_records.NewServiceRecord(_today(app), "assessment"))
    assert _count(app) == before
    page = auth.login("service_provider").get(f"/referrals/{world.ids['ref_mhpss']}")
    assert 'name="service_code"' not in page.get_data(as_text=True)
    assert any((e.reason or "").startswith("not_accepted")
               for e in events(app, "referral.service_record", outcome="denied"))


def _entry_by_another_service(app, world) -> None:
    """An entry of another service on the world's MHPSS referral (as after a transfer of the
    service's work): MHPSS must not see it."""
    with app.test_request_context():
        chain = services(world)
        found = referral(world.ids["ref_mhpss"])
        row = ReferralServiceRecord(referral_id=found.id, service_id=uuid.UUID(chain.psychiatry),
                                    given_on=_today(app), service_code="inpatient_admission",
                                    recorded_by_id=uuid.UUID(chain.psy_user),
                                    recorded_at=found.sent_at, data_key=found.data_key)
        row.notes = "OtherServiceNote-Z3"
        db.session.add(row)
        db.session.commit()


def test_provider_sees_only_its_own_services_entries(app, auth, world):
    _accepted(app, world)
    _entry_by_another_service(app, world)
    sp = auth.login("service_provider")
    page = sp.get(f"/referrals/{world.ids['ref_mhpss']}").get_data(as_text=True)
    listed = page.split('id="services"', 1)[1].split("<form", 1)[0]
    assert "OtherServiceNote-Z3" not in page and "Inpatient admission" not in listed
    # another organisation's referral: 404 to the provider, nothing recorded
    before = _count(app)
    r = sp.post(f"/referrals/{world.ids['ref_legal']}/services",
                data={"csrf_token": auth.csrf(sp), "given_on": _today(app).isoformat(),
                      "service_code": "assessment"})
    assert r.status_code == 404 and _count(app) == before


def test_caseworker_sees_notes_only_with_consent(app, auth, world):
    _accepted(app, world)
    sp = auth.login("service_provider")
    _post(sp, world, given_on=_today(app).isoformat())
    c = auth.login("caseworker")
    sent = f"/referrals/{world.ids['ref_mhpss']}/sent"
    page = c.get(sent).get_data(as_text=True)
    assert "Counselling session" in page and NOTE not in page and "notes-hidden" in page
    with app.test_request_context():
        share_consent(world, "mhpss", ["full_name", "service_notes"])
    page = c.get(sent).get_data(as_text=True)
    assert NOTE in page and "notes-hidden" not in page


def test_revocation_shreds_the_notes_and_keeps_what_was_given(app, auth, world):
    _accepted(app, world)
    sp = auth.login("service_provider")
    _post(sp, world, given_on=_today(app).isoformat())
    with app.test_request_context():
        share_consent(world, "mhpss", ["full_name", "service_notes"])
        service.revoke(user(world, "caseworker"), referral(world.ids["ref_mhpss"]),
                       service.RevokeReason.NO_LONGER_NEEDED)
        db.session.expire_all()
        row = db.session.execute(select(ReferralServiceRecord)).scalars().first()
        assert row is not None
        try:
            row.notes  # noqa: B018
        except DecryptionError:
            shredded = True
        else:
            shredded = False
        assert shredded
    page = auth.login("caseworker").get(f"/referrals/{world.ids['ref_mhpss']}/sent")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Counselling session" in text and NOTE not in text


def _deep(app):
    return app.test_cli_runner().invoke(args=["keys", "verify", "--deep", "--batch-size", "2"])


def test_deep_verify_opens_service_records_and_onward_shares(app, auth, world):
    from tests.helpers.onward import depth_two

    with app.test_request_context():
        _chain, to_psy, _to_clinic = depth_two(world)
        to_psy_id = to_psy.id
    sp = auth.login("service_provider")
    _post(sp, world, given_on=_today(app).isoformat())
    result = _deep(app)
    assert result.exit_code == 0, result.output
    # a service record put back to an older version is found
    with app.app_context():
        row = db.session.execute(select(ReferralServiceRecord)).scalars().first()
        db.session.execute(sa.update(ReferralServiceRecord.__table__)
                           .where(ReferralServiceRecord.__table__.c.id == row.id)
                           .values(version=row.version + 1))
        db.session.commit()
        row_id = row.id
    result = _deep(app)
    assert result.exit_code == 3 and f"referral_service_records {row_id}" in result.stdout
    assert str(to_psy_id) not in result.stdout


def test_notes_and_onward_shares_are_sealed_at_rest(app, auth, world):

    from tests.helpers.apps import BACKEND
    from tests.helpers.crypto import sqlite_bytes
    from tests.helpers.onward import depth_two

    if BACKEND != "sqlite":
        pytest.skip("SQLite file bytes (the PostgreSQL dump is checked in test_crypto_at_rest)")
    with app.test_request_context():
        depth_two(world)  # the name goes down the chain: every copy sealed
    sp = auth.login("service_provider")
    _post(sp, world, given_on=_today(app).isoformat())
    with app.app_context():
        assert db.session.execute(select(ReferralServiceRecord)).scalars().first().notes == NOTE
    data = sqlite_bytes(app)
    assert b"referral_service_records" in data
    from tests.helpers.factories import CANARY

    for needle in (NOTE, CANARY["own_name"]):
        assert needle.encode() not in data and needle.encode("utf-16-le") not in data


def test_the_audit_workspace_names_the_case_of_a_service_given(app, auth, world):
    from app.referrals.audit_names import case_number_of

    _accepted(app, world)
    _post(auth.login("service_provider"), world, given_on=_today(app).isoformat())
    with app.app_context():
        row = db.session.execute(select(ReferralServiceRecord)).scalars().first()
        found = case_number_of("referral_service_record", str(row.id))
        assert found is not None and found.number == world.case_numbers["case_own"]
        assert case_number_of("referral_service_record", str(uuid.uuid4())) is None
