"""Transfer screens (issue 18, item 3): the sender asks (with the urgent-referral confirmation),
the receiving supervisor sees only what is needed to decide, accepts or declines, and the
sender's staff lose the case at once while the receiver's gain it."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from app.cases.models import Case, CaseTransfer
from app.db import db
from app.referrals.models import Referral
from tests.helpers.cases import search_cases
from tests.helpers.factories import CANARY
from tests.helpers.forms import form_tokens, hidden_inputs
from tests.helpers.transfer import ask, consent_to_transfer, partner_staff


def _request(c, world, case_id, **over):
    page = c.get(f"/cases/{case_id}/transfer")
    assert page.status_code == 200
    data = {"organisation": world.ids["other_org"], "site": "", "urgency": "high",
            **form_tokens(page.get_data(as_text=True))}
    data.update(over)
    return c.post(f"/cases/{case_id}/transfer", data=data)


def _count(app, model, *where):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_without_consent_or_receiver_nothing_is_stored(app, auth, world):
    own = world.ids["case_own"]
    cw = auth.login("caseworker")
    # Nobody in the partner organisation can receive: it is not even offered.
    page = cw.get(f"/cases/{own}/transfer").get_data(as_text=True)
    assert "Partner Org" not in page and "No other organisation can receive" in page
    r = _request(cw, world, own)  # chosen anyway (a stale page): refused, beside the field
    assert r.status_code == 200 and "no active supervisor who can receive" in r.get_data(
        as_text=True)
    partner_staff(app, world)
    r = _request(cw, world, own)
    assert "consent to transfer" in r.get_data(as_text=True)
    assert _count(app, CaseTransfer) == 0


def test_the_whole_transfer_through_the_pages(app, auth, world):
    partner_staff(app, world)
    own = world.ids["case_own"]
    number = world.case_numbers["case_own"]
    with app.app_context():
        consent_to_transfer(world)
        db.session.execute(update(Referral).where(Referral.id == uuid.UUID(
            world.ids["ref_legal"])).values(urgency="urgent", status="sent"))
        db.session.commit()
    cw = auth.login("caseworker")
    # An urgent referral unanswered: the confirmation step says so and stores nothing ...
    r = _request(cw, world, own)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "urgent referral not answered yet" in html
    assert _count(app, CaseTransfer) == 0
    # ... until confirmed (the form comes back with everything filled in).
    data = hidden_inputs(html, None)
    data.update({"organisation": world.ids["other_org"], "site": "", "urgency": "high"})
    assert data.get("confirmed") == "yes"
    r = cw.post(f"/cases/{own}/transfer", data=data)
    assert r.status_code == 302
    # A retried post stores no second request.
    r = cw.post(f"/cases/{own}/transfer", data=data)
    assert r.status_code == 302 and _count(app, CaseTransfer) == 1
    assert "waiting for their answer" in cw.get(f"/cases/{own}/transfer").get_data(as_text=True)

    # The receiving supervisor: the list and the request, without the survivor's identity.
    ps = auth.login("partner_supervisor")
    listing = ps.get("/cases/transfers").get_data(as_text=True)
    assert "Test NGO" in listing
    with app.app_context():
        tid = db.session.execute(select(CaseTransfer.id)).scalar_one()
    page = ps.get(f"/cases/transfers/{tid}").get_data(as_text=True)
    for secret in (CANARY["own_name"], CANARY["own_alias"], CANARY["own_location"], number,
                   CANARY["own_narrative"]):
        assert secret not in page and secret not in listing
    assert "Physical assault" in page and "Female" in page
    # The sender's supervisor sees none of it (another organisation's request: 404).
    sup = auth.login("supervisor")
    assert sup.get(f"/cases/transfers/{tid}").status_code == 404
    assert "Test NGO" not in sup.get("/cases/transfers").get_data(as_text=True)

    # Refused choices stay on the page, beside their fields.
    tokens = form_tokens(page, f"/cases/transfers/{tid}/accept")
    r = ps.post(f"/cases/transfers/{tid}/accept", data={**tokens, "site": "", "primary": ""})
    assert r.status_code == 200 and "Choose one of your sites." in r.get_data(as_text=True)
    accept = {**tokens, "site": world.ids["partner_site"],
              "primary": world.users["partner_caseworker"]}
    r = ps.post(f"/cases/transfers/{tid}/accept", data=accept)
    assert r.status_code == 302
    new_id = r.location.rsplit("/", 1)[-1]
    # A retried post transfers nothing more.
    again = ps.post(f"/cases/transfers/{tid}/accept", data=accept)
    assert again.status_code == 404
    assert _count(app, Case, Case.organisation_id == uuid.UUID(world.ids["other_org"])) == 1

    # The receiver's staff have the case, with the survivor's name.
    pc = auth.login("partner_caseworker")
    assert CANARY["own_name"] in pc.get(f"/cases/{new_id}").get_data(as_text=True)
    assert ps.get(f"/cases/{new_id}").status_code == 200
    assert new_id in search_cases(pc, name=CANARY["own_name"]).get_data(as_text=True)
    # The sender's lose it at once: the old id, the new id, lists and search.
    for name in ("caseworker", "supervisor"):
        c = auth.login(name)
        assert c.get(f"/cases/{own}").status_code == 404
        assert c.get(f"/cases/{new_id}").status_code == 404
        assert c.get(f"/cases/{own}/transfer").status_code == 404
        assert number not in c.get("/cases/").get_data(as_text=True)
        found = search_cases(c, name=CANARY["own_name"]).get_data(as_text=True)
        assert own not in found and new_id not in found
        assert number not in c.get("/").get_data(as_text=True)


def test_declining_through_the_page(app, auth, world):
    partner_staff(app, world)
    with app.app_context():
        consent_to_transfer(world)
        tid = ask(world).id
    ps = auth.login("partner_supervisor")
    page = ps.get(f"/cases/transfers/{tid}").get_data(as_text=True)
    tokens = form_tokens(page, f"/cases/transfers/{tid}/decline")
    r = ps.post(f"/cases/transfers/{tid}/decline", data={**tokens, "reason": ""})
    assert r.status_code == 200 and "Choose a reason from the list." in r.get_data(as_text=True)
    r = ps.post(f"/cases/transfers/{tid}/decline", data={**tokens, "reason": "outside_area"})
    assert r.status_code == 302
    assert ps.get(f"/cases/transfers/{tid}").status_code == 404
    with app.app_context():
        assert db.session.get(CaseTransfer, tid).status == "declined"
    cw = auth.login("caseworker")
    assert cw.get(f"/cases/{world.ids['case_own']}").status_code == 200
    # The sender learns the answer and its reason on the case's transfer page.
    page = cw.get(f"/cases/{world.ids['case_own']}/transfer").get_data(as_text=True)
    assert "Declined" in page and "The survivor lives outside our area" in page


def test_the_sender_cancels_through_the_page(app, auth, world):
    partner_staff(app, world)
    with app.app_context():
        consent_to_transfer(world)
        tid = ask(world).id
    own = world.ids["case_own"]
    cw = auth.login("caseworker")
    page = cw.get(f"/cases/{own}/transfer").get_data(as_text=True)
    r = cw.post(f"/cases/{own}/transfer/cancel",
                data=form_tokens(page, f"/cases/{own}/transfer/cancel"))
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(CaseTransfer, tid).status == "cancelled"
    ps = auth.login("partner_supervisor")
    assert ps.get(f"/cases/transfers/{tid}").status_code == 404


def test_the_receiving_supervisors_are_told_until_someone_answers(app, auth, world):
    from app.notifications.models import Notification

    partner_staff(app, world)
    with app.app_context():
        consent_to_transfer(world)
        tid = ask(world).id
        told = db.session.execute(select(Notification.user_id, Notification.kind).where(
            Notification.object_id == tid)).all()
    assert told == [(uuid.UUID(world.users["partner_supervisor"]), "transfer_requested")]
    ps = auth.login("partner_supervisor")
    page = ps.get("/notifications/").get_data(as_text=True)
    assert "Another organisation asks yours to take a case" in page and "Test NGO" in page
    assert CANARY["own_name"] not in page and world.case_numbers["case_own"] not in page
    tokens = form_tokens(ps.get(f"/cases/transfers/{tid}").get_data(as_text=True),
                         f"/cases/transfers/{tid}/decline")
    ps.post(f"/cases/transfers/{tid}/decline", data={**tokens, "reason": "no_capacity"})
    assert _count(app, Notification, Notification.object_id == tid) == 0
    assert "Test NGO" not in ps.get("/notifications/").get_data(as_text=True)
