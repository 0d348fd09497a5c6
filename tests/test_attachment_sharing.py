"""Sharing attached files with a referral: only when the survivor's consent to share with that
type of service names attached files, only files of the case, each copied under the referral's
own key; the service downloads them from the referral and never touches the case's key;
revoking the referral or withdrawing the consent makes the copies unreadable."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.attachments import service as attachments
from app.attachments.models import Attachment, ReferralAttachment
from app.auth.models import User
from app.cases import consent
from app.cases.models import Case
from app.crypto.errors import DecryptionError
from app.db import db
from app.referrals.models import Referral
from tests.helpers.audit import events
from tests.helpers.files import pdf_bytes, png_bytes
from tests.helpers.forms import form_tokens

#: The files each test starts with: a consent form on the caseworker's case and a file shared
#: with the MHPSS referral (tests.helpers.files), made afresh in each test's database.
SEEDED: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _seeded(app, world):
    from tests.helpers.files import attach_file, share_file

    SEEDED["attachment_own"] = attach_file(app, world)
    SEEDED["shared_file"] = share_file(app, world)


def _user(world, name):
    return db.session.get(User, uuid.UUID(world.users[name]))


def _consent_files(app, world, fields=("full_name", "attachments")):
    with app.test_request_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        consent.record_consent(_user(world, "caseworker"), case, kind="share:mhpss",
                               granted=True, given_by="survivor", method="verbal",
                               share_fields=list(fields))


def _second_file(app, world) -> str:
    with app.test_request_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        a = attachments.add(_user(world, "caseworker"), case, attachments.NewAttachment(
            kind="medical_certificate", data=png_bytes()))
        return str(a.id)


def _refer(c, world, **over):
    case_id = world.ids["case_own"]
    page = c.get(f"/referrals/new/{case_id}?service={world.ids['mhpss']}").get_data(as_text=True)
    data = {"service": world.ids["mhpss"], "urgency": "normal", "message": "",
            "override_code": "", "override_reason": "", **form_tokens(page)}
    data.update(over)
    return page, c.post(f"/referrals/new/{case_id}", data=data)


def _copies(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(ReferralAttachment)).scalar_one()


def _referrals(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Referral)).scalar_one()


def test_without_consent_to_files_none_is_offered_and_a_forced_one_is_refused(app, auth, world):
    c = auth.login("caseworker")
    page, _ = _refer(c, world, choose="1")  # "Show what can be shared": nothing is sent
    assert SEEDED["attachment_own"] not in page
    before = (_referrals(app), _copies(app))
    page, r = _refer(c, world, attachments=[SEEDED["attachment_own"]])
    assert r.status_code == 200 and "not consented to share attached files" in r.get_data(as_text=True)
    assert (_referrals(app), _copies(app)) == before
    assert any(e.reason == "attachments_outside_consent"
               for e in events(app, "referral.create", outcome="denied"))


def test_chosen_files_are_copied_under_the_referrals_key(app, auth, world):
    _consent_files(app, world)
    second = _second_file(app, world)
    c = auth.login("caseworker")
    page, _ = _refer(c, world, choose="1")
    assert f'value="{SEEDED["attachment_own"]}"' in page and f'value="{second}"' in page
    before = _copies(app)
    _, r = _refer(c, world, attachments=[second])
    assert r.status_code == 302
    assert _copies(app) == before + 1
    referral_id = r.location.rstrip("/").split("/")[-2]
    with app.test_request_context():
        referral = db.session.get(Referral, uuid.UUID(referral_id))
        case = db.session.get(Case, referral.case_id)
        copy = attachments.for_referral(referral)[0]
        assert copy.data_key_id == referral.data_key_id != case.data_key_id
        assert copy.kind == "medical_certificate" and copy.content == png_bytes()
        copy_id = copy.id
    assert events(app, "attachment.share", object_id=str(copy_id))
    # The sender's page says what went; the service downloads it from the referral.
    sent = c.get(f"/referrals/{referral_id}/sent").get_data(as_text=True)
    assert "Medical certificate" in sent and "/files/" not in sent
    p = auth.login("service_provider")
    page = p.get(f"/referrals/{referral_id}").get_data(as_text=True)
    link = f"/referrals/{referral_id}/files/{copy_id}"
    assert f'href="{link}"' in page
    got = p.get(link)
    assert got.status_code == 200 and got.get_data() == png_bytes()
    # Another referral's file through this referral's URL: 404.
    assert p.get(f"/referrals/{referral_id}/files/{SEEDED['shared_file']}").status_code == 404


def test_a_file_of_another_case_is_refused_and_nothing_is_sent(app, auth, world):
    _consent_files(app, world)
    with app.test_request_context():
        other = db.session.get(Case, uuid.UUID(world.ids["case_other"]))
        foreign = attachments.add(_user(world, "caseworker2"), other, attachments.NewAttachment(
            kind="police_report", data=pdf_bytes(b"OtherCase")))
        foreign_id = str(foreign.id)
    c = auth.login("caseworker")
    before = (_referrals(app), _copies(app))
    _, r = _refer(c, world, attachments=[foreign_id])
    assert r.status_code == 200 and "not attached to this case" in r.get_data(as_text=True)
    assert (_referrals(app), _copies(app)) == before


def test_revoking_the_referral_makes_its_copies_unreadable(app, auth, world):
    c = auth.login("caseworker")
    page = c.get(f"/referrals/{world.ids['ref_mhpss']}/sent").get_data(as_text=True)
    r = c.post(f"/referrals/{world.ids['ref_mhpss']}/revoke",
               data={"reason": "sent_in_error", **form_tokens(page)})
    assert r.status_code == 302
    p = auth.login("service_provider")
    link = f"/referrals/{world.ids['ref_mhpss']}/files/{SEEDED['shared_file']}"
    assert p.get(link).status_code == 404
    with app.test_request_context():
        copy = db.session.get(ReferralAttachment, uuid.UUID(SEEDED["shared_file"]))
        with pytest.raises(DecryptionError):
            _ = copy.content
        # The case's own file is untouched (under the case's key).
        original = db.session.get(Attachment, uuid.UUID(SEEDED["attachment_own"]))
        assert attachments.content_of(original) == pdf_bytes()


def test_withdrawing_consent_revokes_and_shreds_the_copies(app, auth, world):
    with app.test_request_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        consent.record_consent(_user(world, "caseworker"), case, kind="share:mhpss",
                               granted=False, given_by="survivor", method="verbal")
    with app.test_request_context():
        copy = db.session.get(ReferralAttachment, uuid.UUID(SEEDED["shared_file"]))
        with pytest.raises(DecryptionError):
            _ = copy.content
    p = auth.login("service_provider")
    assert p.get(f"/referrals/{world.ids['ref_mhpss']}/files/{SEEDED['shared_file']}") \
        .status_code == 404
