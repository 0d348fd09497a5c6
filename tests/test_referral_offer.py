"""What a referral may share: the form offers exactly the fields the service accepts, for every
type of service (one rule, ``fields.offer``); a forged field is refused, audited, and changes
nothing; the typed commands of the referral service refuse bad values with clear messages."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.cases.gbvims import SERVICE_TYPES
from app.cases.models import Case
from app.db import db
from app.referrals import fields
from app.referrals.models import Referral, Urgency
from tests.helpers.forms import form_tokens

# Per service type: None (no decision), False (withdrawn) or the fields consented.
CONSENTS: dict[str, list[str] | bool | None] = {
    "health_medical": ["full_name", "date_of_birth", "incident_summary"],
    "mhpss": ["full_name"],
    "psychiatry": [],
    "safety_security": ["phone", "safe_contact", "location"],
    "legal": None,
    "shelter_safe_house": False,
    "livelihoods": ["disability", "displacement_status"],
    "protection_child_protection": list(fields.OPTIONAL),
    "wgss": ["alias"],
    "other": None,
}


def _count(app) -> int:
    with app.app_context():
        return db.session.execute(select(sa.func.count()).select_from(Referral)).scalar_one()


def _offered(html: str) -> list[str]:
    """The values of the "Also share" options on the referral page."""
    select_html = re.search(r'<select[^>]*name="fields"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r'value="([^"]+)"', select_html.group(1)) if select_html else []


def _setup(app, world) -> dict[str, str]:
    """Record the consents of ``CONSENTS`` on the own case; one service of each type."""
    from app.auth.models import User
    from app.cases import consent as cases
    from app.directory.models import Service

    ids = {}
    with app.test_request_context():
        worker = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        for service_type, consent in CONSENTS.items():
            if consent is not None:
                cases.record_consent(worker, case, kind=f"share:{service_type}",
                                     granted=consent is not False, given_by="survivor",
                                     method="verbal", share_fields=consent or [])
            svc = Service(organisation_id=uuid.UUID(world.ids["org"]),
                          name=f"Offer test {service_type}", service_type=service_type)
            db.session.add(svc)
            db.session.commit()
            ids[service_type] = str(svc.id)
    return ids


def test_offered_fields_are_the_enforced_fields_for_every_service_type(app, auth, world):
    assert set(CONSENTS) == set(SERVICE_TYPES)
    services = _setup(app, world)
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    for service_type, service_id in services.items():
        consent = CONSENTS[service_type]
        expected = [f for f in fields.OPTIONAL if isinstance(consent, list) and f in consent]
        page = c.get(f"/referrals/new/{cid}?service={service_id}").get_data(as_text=True)
        assert _offered(page) == expected, service_type
        # Chosen in the form and shown again ("Show what can be shared"): the same offer,
        # nothing sent, what was typed kept.
        before = _count(app)
        shown = c.post(f"/referrals/new/{cid}", data={
            "service": service_id, "urgency": "normal", "message": "Kept while choosing",
            "choose": "y", **form_tokens(page)}).get_data(as_text=True)
        assert _offered(shown) == expected and "Kept while choosing" in shown, service_type
        assert _count(app) == before
        # Each field outside the offer is refused by the service, whatever was posted.
        for outside in [f for f in fields.OPTIONAL if f not in expected][:2]:
            r = c.post(f"/referrals/new/{cid}", data={
                "service": service_id, "urgency": "normal", "fields": [*expected, outside],
                **form_tokens(page)})
            html = r.get_data(as_text=True)
            assert r.status_code == 200 and _count(app) == before, (service_type, outside)
            if isinstance(consent, list):
                assert "not covered by the survivor&#39;s consent" in html, (service_type, outside)
            else:
                assert "not consented" in html, service_type
        # Everything offered is accepted (only where there is consent: caseworkers never override).
        if isinstance(consent, list):
            r = c.post(f"/referrals/new/{cid}", data={
                "service": service_id, "urgency": "normal", "fields": expected,
                **form_tokens(c.get(f"/referrals/new/{cid}").get_data(as_text=True))})
            assert r.status_code == 302, service_type
            with app.app_context():
                sent = db.session.get(Referral, uuid.UUID(r.location.split("/")[-2]))
                assert sent.shared_fields == ",".join(expected)


def test_forged_field_is_refused_with_a_message_audited_and_nothing_changes(app, auth, world):
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    page = c.get(f"/referrals/new/{cid}?service={world.ids['mhpss']}").get_data(as_text=True)
    assert _offered(page) == ["full_name"]  # the world's consent to MHPSS: the name only
    before = _count(app)
    r = c.post(f"/referrals/new/{cid}", data={
        "service": world.ids["mhpss"], "urgency": "normal", "fields": ["full_name", "phone"],
        **form_tokens(page)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "not covered by the survivor&#39;s consent" in html
    assert _count(app) == before
    assert _offered(html) == ["full_name"]
    with app.app_context():
        denied = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "referral.create", AuditEvent.outcome == "denied",
            AuditEvent.reason == "fields_outside_consent")).scalars().all()
    assert len(denied) == 1 and denied[0].object_id == cid


def test_override_fields_only_where_there_is_no_consent(app, auth, world):
    s = auth.login("supervisor")
    cid = world.ids["case_own"]
    consented = s.get(f"/referrals/new/{cid}?service={world.ids['mhpss']}").get_data(as_text=True)
    without = s.get(f"/referrals/new/{cid}?service={world.ids['legal']}").get_data(as_text=True)
    assert 'id="override"' not in consented and 'id="override"' in without
    assert _offered(without) == [] and "No further fields are covered by consent." in without
    c = auth.login("caseworker")
    assert 'id="override"' not in c.get(
        f"/referrals/new/{cid}?service={world.ids['legal']}").get_data(as_text=True)


def _people(app, world, *names):
    from app.auth.models import User

    return [db.session.get(User, uuid.UUID(world.users[n])) for n in names]


def test_new_referral_command_refuses_bad_values(app, world):
    from app.referrals import service

    with app.test_request_context():
        (worker,) = _people(app, world, "caseworker")
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        mhpss = uuid.UUID(world.ids["mhpss"])
        before = db.session.execute(select(sa.func.count()).select_from(Referral)).scalar_one()
        for ask, message in (
                (service.NewReferral(service_id=uuid.uuid4()), "does not exist or is not active"),
                (service.NewReferral(service_id=mhpss, urgency="soon"), "Choose an urgency"),  # type: ignore[arg-type]
                (service.NewReferral(service_id=mhpss, fields=("full_name", "shoe_size")),
                 "not covered"),
                (service.NewReferral(service_id=mhpss, fields=("phone",)), "not covered"),
                (service.NewReferral(service_id=mhpss, message="x" * 4001), "too long"),
                (service.NewReferral(service_id=uuid.UUID(world.ids["legal"])), "not consented")):
            with pytest.raises(service.ReferralError, match=message):
                service.create(worker, case, ask)
        assert db.session.execute(
            select(sa.func.count()).select_from(Referral)).scalar_one() == before
        made = service.create(worker, case, service.NewReferral(
            service_id=mhpss, urgency=Urgency.HIGH, fields=("full_name", "full_name")))
        assert (made.urgency, made.shared_fields) == ("high", "full_name")


def test_answer_and_revoke_commands_refuse_bad_values(app, world):
    from app.referrals import service

    with app.test_request_context():
        provider, worker = _people(app, world, "service_provider", "caseworker")
        referral = db.session.get(Referral, uuid.UUID(world.ids["ref_mhpss"]))
        version = referral.version
        for reply, message in (
                (service.ReferralAnswer("shrug", None, version), "Choose accept, decline or complete"),  # type: ignore[arg-type]
                (service.ReferralAnswer(service.AnswerOp.DECLINE, "  ", version),
                 "reason for declining"),
                (service.ReferralAnswer(service.AnswerOp.ACCEPT, "x" * 4001, version), "too long"),
                (service.ReferralAnswer(service.AnswerOp.COMPLETE, "done", version),
                 "Only an accepted referral")):
            with pytest.raises(service.ReferralError, match=message):
                service.answer(provider, referral, reply)
        with pytest.raises(service.ReferralStale):
            service.answer(provider, referral, service.ReferralAnswer(
                service.AnswerOp.ACCEPT, None, version - 1))
        with pytest.raises(service.ReferralError, match="Choose a reason from the list"):
            service.revoke(worker, referral, "bored")  # type: ignore[arg-type]
        assert (referral.status, referral.version) == ("sent", version)
        service.answer(provider, referral, service.ReferralAnswer(
            service.AnswerOp.ACCEPT, None, version))
        assert referral.status == "accepted"
