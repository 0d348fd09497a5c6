"""Onward referral: a service that accepted a referral refers the survivor on, within the
consent and never wider than what it received; the chain is shredded down by a withdrawal, a
revocation or the case's erasure; each side sees only what it should."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.auth.models import User
from app.crypto.errors import DecryptionError
from app.db import db
from app.referrals import onward, service
from app.referrals.models import Referral
from tests.helpers.audit import events
from tests.helpers.factories import CANARY
from tests.helpers.forms import form_tokens
from tests.helpers.onward import (
    accept,
    depth_two,
    refer_on,
    referral,
    services,
    share_consent,
    the_case,
    user,
)


def _events(app, action, **where):
    """Audit events, read after ending the test's own transaction (SQLite: one writer)."""
    db.session.rollback()
    return events(app, action, **where)


def _count() -> int:
    return db.session.execute(select(sa.func.count()).select_from(Referral)).scalar_one()


def test_share_is_cut_from_the_parent_and_sealed_under_its_own_key(app, world):
    with app.test_request_context():
        chain, to_psy, to_clinic = depth_two(world)
        parent = referral(world.ids["ref_mhpss"])
        shared = json.loads(to_psy.share)
        assert shared["full_name"] == CANARY["own_name"]
        assert shared["service_requested"] == "psychiatry"
        assert set(shared) <= {"case_number", "age_group", "sex", "service_requested",
                               "full_name"}
        # phone is consented for psychiatry but MHPSS never received it: it does not go
        assert "phone" not in shared
        assert to_psy.parent_id == parent.id and to_clinic.parent_id == to_psy.id
        assert len({parent.data_key_id, to_psy.data_key_id, to_clinic.data_key_id}) == 3
        assert str(to_psy.sent_by_id) == world.users["service_provider"]
        assert _events(app, "referral.refer_on", object_id=str(to_psy.id))


def test_wider_than_received_is_refused_and_nothing_stored(app, world):
    with app.test_request_context():
        chain = services(world)
        share_consent(world, "psychiatry", ["full_name", "phone"])
        provider = user(world, "service_provider")
        accept(provider, world.ids["ref_mhpss"])
        before = _count()
        with pytest.raises(service.FieldsOutsideConsent) as refused:
            refer_on(provider, world.ids["ref_mhpss"], chain.psychiatry, ("full_name", "phone"))
        assert refused.value.codes == ("phone",)
        assert _count() == before
        assert any(e.reason == "fields_outside_consent"
                   for e in _events(app, "referral.refer_on", outcome="denied"))


def test_wider_than_consent_is_refused(app, world):
    with app.test_request_context():
        chain = services(world)
        share_consent(world, "psychiatry", [])  # the minimum only for psychiatry
        provider = user(world, "service_provider")
        accept(provider, world.ids["ref_mhpss"])
        before = _count()
        with pytest.raises(service.FieldsOutsideConsent):
            refer_on(provider, world.ids["ref_mhpss"], chain.psychiatry, ("full_name",))
        assert _count() == before
        done = refer_on(provider, world.ids["ref_mhpss"], chain.psychiatry)
        assert "full_name" not in json.loads(done.share)


@pytest.mark.parametrize("case", ["no_consent", "not_accepted", "own_service", "declined"])
def test_refused_without_consent_from_an_unaccepted_referral_or_to_its_own_service(app, world,
                                                                                   case):
    with app.test_request_context():
        chain = services(world)
        provider = user(world, "service_provider")
        target = chain.psychiatry
        if case != "no_consent":
            share_consent(world, "psychiatry", ["full_name"])
        if case == "declined":
            found = referral(world.ids["ref_mhpss"])
            service.answer(provider, found, service.ReferralAnswer(
                op=service.AnswerOp.DECLINE, note="full", version=found.version))
        elif case != "not_accepted":
            accept(provider, world.ids["ref_mhpss"])
        if case == "own_service":
            target = world.ids["mhpss"]
        before = _count()
        with pytest.raises(service.ReferralError):
            refer_on(provider, world.ids["ref_mhpss"], target)
        assert _count() == before
        assert _events(app, "referral.refer_on", outcome="denied")


def _unreadable(ref: Referral) -> bool:
    try:
        ref.share  # noqa: B018 - opening it is the test
    except DecryptionError:
        return True
    return False


def test_withdrawn_consent_shreds_down_the_chain(app, world):
    with app.test_request_context():
        _chain, to_psy, to_clinic = depth_two(world)
        share_consent(world, "mhpss", ["full_name"], granted=False)
        db.session.expire_all()
        for rid in (world.ids["ref_mhpss"], to_psy.id, to_clinic.id):
            found = referral(rid)
            assert found.status == "revoked"
            assert _unreadable(found)
        # the other branch of the case is untouched
        assert referral(world.ids["ref_legal"]).status != "revoked"


def test_withdrawal_for_an_onward_type_reaches_the_onward_referral(app, world):
    with app.test_request_context():
        _chain, to_psy, to_clinic = depth_two(world)
        share_consent(world, "psychiatry", [], granted=False)
        db.session.expire_all()
        assert referral(world.ids["ref_mhpss"]).status == "accepted"
        assert referral(to_psy.id).status == "revoked"
        assert referral(to_clinic.id).status == "revoked" and _unreadable(referral(to_clinic.id))


def test_revoking_a_referral_revokes_its_descendants(app, world):
    with app.test_request_context():
        _chain, to_psy, to_clinic = depth_two(world)
        service.revoke(user(world, "caseworker"), referral(to_psy.id),
                       service.RevokeReason.SAFETY)
        db.session.expire_all()
        assert referral(to_clinic.id).status == "revoked"
        assert _unreadable(referral(to_clinic.id))
        assert referral(world.ids["ref_mhpss"]).status == "accepted"
        reasons = [e.reason for e in _events(app, "referral.revoke", object_id=str(to_clinic.id))]
        assert "parent_revoked" in reasons


def test_case_erasure_shreds_every_referral_of_the_chain(app, world):
    from app.cases import service as cases

    with app.test_request_context():
        _chain, to_psy, to_clinic = depth_two(world)
        keys = [referral(r).data_key_id for r in (world.ids["ref_mhpss"], to_psy.id, to_clinic.id)]
        cases.erase(user(world, "supervisor"), the_case(world), "survivor_request")
        from app.crypto.models import DataKey

        for key_id in keys:
            key = db.session.get(DataKey, key_id)
            assert key is None or key.wrapped is None


def test_provider_scoping(app, auth, world):
    with app.test_request_context():
        _chain, to_psy, to_clinic = depth_two(world)
        psy_id, clinic_id = str(to_psy.id), str(to_clinic.id)
    sp = auth.login("service_provider")
    # MHPSS sent the hospital's referral: it sees its status on its own referral, never opens it
    assert sp.get(f"/referrals/{psy_id}").status_code == 404
    assert sp.get(f"/referrals/{clinic_id}").status_code == 404
    assert sp.get(f"/referrals/{psy_id}/onward").status_code == 404
    page = sp.get(f"/referrals/{world.ids['ref_mhpss']}").get_data(as_text=True)
    assert "National Psychiatric Hospital" in page and "Accepted" in page
    # another organisation's caseworker: not its case
    assert auth.login("caseworker_b").get(f"/referrals/{psy_id}/sent").status_code == 404


def test_caseworker_sees_the_chain_and_outcomes(app, auth, world):
    with app.test_request_context():
        chain, to_psy, to_clinic = depth_two(world)
        clinic_user = db.session.get(User, uuid.UUID(chain.clinic_user))
        clinic_id = str(to_clinic.id)
        accept(clinic_user, clinic_id)
        found = referral(clinic_id)
        service.answer(clinic_user, found, service.ReferralAnswer(
            op=service.AnswerOp.COMPLETE, outcome="provided", version=found.version))
    c = auth.login("caseworker")
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    assert "referral-depth-1" in page and "referral-depth-2" in page
    assert page.index("MHPSS") < page.index("National Psychiatric Hospital") < page.index(
        "CMR clinic")
    assert "Service provided" in page
    sent = c.get(f"/referrals/{clinic_id}/sent").get_data(as_text=True)
    assert "referred-on-from" in sent


def test_provider_refers_on_through_the_form(app, auth, world):
    with app.test_request_context():
        chain = services(world)
        share_consent(world, "psychiatry", ["full_name"])
        accept(user(world, "service_provider"), world.ids["ref_mhpss"])
        before = _count()
    sp = auth.login("service_provider")
    url = f"/referrals/{world.ids['ref_mhpss']}/onward"
    page = sp.get(url).get_data(as_text=True)
    assert "National Psychiatric Hospital" in page and world.ids["mhpss"] not in page
    data = {"service": chain.psychiatry, "urgency": "high", "fields": ["full_name", "phone"],
            "message": "", **form_tokens(page)}
    refused = sp.post(url, data=data)
    assert refused.status_code == 200 and "Untick them" in refused.get_data(as_text=True)
    data["fields"] = ["full_name"]
    done = sp.post(url, data=data)
    assert done.status_code == 302
    again = sp.post(url, data=data)  # the tired user posts twice
    assert again.status_code == 302
    with app.app_context():
        assert _count() == before + 1
        made = db.session.execute(select(Referral).where(
            Referral.parent_id == uuid.UUID(world.ids["ref_mhpss"]))).scalar_one()
        assert made.urgency == "high" and onward.may_refer_on(made) is False


def test_the_onward_page_says_why_before_acceptance(app, auth, world):
    sp = auth.login("service_provider")
    r = sp.get(f"/referrals/{world.ids['ref_mhpss']}/onward")
    assert r.status_code == 200 and "onward-not-possible" in r.get_data(as_text=True)


def test_a_revocation_committed_meanwhile_refuses_the_onward_referral(app, world):
    """The provider's copy says accepted, the row says revoked (the caseworker revoked it
    between the page and the post): the row, locked in the transaction, decides."""
    with app.test_request_context():
        chain = services(world)
        share_consent(world, "psychiatry", ["full_name"])
        provider = user(world, "service_provider")
        accept(provider, world.ids["ref_mhpss"])
        parent = referral(world.ids["ref_mhpss"])
        assert parent.status == "accepted"
        db.session.execute(sa.update(Referral.__table__)
                           .where(Referral.__table__.c.id == parent.id)
                           .values(status="revoked"))
        before = _count()
        with pytest.raises(service.ReferralError, match="changed meanwhile"):
            onward.refer_on(provider, parent, onward.NewOnward(
                service_id=uuid.UUID(chain.psychiatry)))
        db.session.rollback()
        assert _count() == before


def _statements(app, request) -> int:
    from sqlalchemy import event

    seen: list[str] = []

    def note(_conn, _cur, statement, *_rest):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                      "RELEASE")):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert request().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(seen)


def test_the_case_page_costs_the_same_with_a_longer_chain(app, auth, world):
    with app.test_request_context():
        chain, to_psy, _to_clinic = depth_two(world)
        psy_user = db.session.get(User, uuid.UUID(chain.psy_user))
        psy_id = str(to_psy.id)
    c = auth.login("caseworker")
    page = f"/cases/{world.ids['case_own']}"
    c.get(page)
    a = _statements(app, lambda: c.get(page))
    with app.test_request_context():
        psy_user = db.session.get(User, uuid.UUID(chain.psy_user))
        for _ in range(4):
            refer_on(psy_user, psy_id, chain.clinic)
    c.get(page)
    b = _statements(app, lambda: c.get(page))
    assert a == b, f"the case page grows with the chain: {a} statements, then {b}"


def test_an_onward_referral_is_not_counted_as_the_case_organisations(app, world):
    """The statistics' referral tables count the referrals the organisation made; one a service
    made onward is that service's."""
    from app.localtime import organisation_zone
    from app.reports.queries import referral_tables

    def total() -> int:
        case = the_case(world)
        zone = organisation_zone(case.organisation_id)
        tables = referral_tables(case.organisation_id, referral(world.ids["ref_mhpss"]).sent_at
                                 .astimezone(zone).year, zone)
        return sum(tables[0].counts.values())

    from app.cases import consent

    with app.test_request_context():
        consent.record_consent(user(world, "caseworker"), the_case(world), kind="reporting",
                               granted=True, given_by="survivor", method="verbal")
        before = total()
        assert before >= 1  # the world's referrals of consented cases are counted
        depth_two(world)
        assert total() == before
