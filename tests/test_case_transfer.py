"""Transferring a case to another organisation (issue 18, item 3): the request, consent, the
receiving supervisor's answer, the copy re-sealed under a new key, the sender's erasure with its
tombstone and referral trail, and what fails: twice, halfway, or with bad input."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, update

import app.models  # noqa: F401  (every model, so the registry checks see every table)
from app.cases import records, service
from app.cases import transfer as transfers
from app.cases.models import (
    Case,
    CaseNote,
    CaseTombstone,
    CaseTransfer,
    ConsentRecord,
    Incident,
    IncidentPerpetrator,
    StatusChange,
)
from app.cases.transfer_requests import TransferStatus
from app.core.errors import CaseError
from app.crypto.fields import SEALED_MODELS
from app.crypto.models import BlindIndexEntry, DataKey
from app.db import Model, db
from app.directory.models import Organisation
from app.referrals.models import Referral, ReferralTrail
from tests.helpers.audit import events
from tests.helpers.factories import CANARY
from tests.helpers.transfer import (
    ask,
    case,
    consent_to_transfer,
    partner_site,
    partner_staff,
    user,
)


def _owned_tables() -> set[str]:
    """Every table holding a case's records: a ``case_id`` column, or a foreign key to a
    copied table (a child such as incident perpetrators)."""
    copied = {name for name, owned in transfers.CASE_OWNED.items() if owned.copied} | {"cases"}
    found = set()
    for table in Model.metadata.tables.values():
        if table.name == "cases":
            continue
        if "case_id" in table.c or any(fk.column.table.name in copied
                                       for fk in table.foreign_keys
                                       if fk.column.table.name != "cases"):
            found.add(table.name)
    for model in SEALED_MODELS:
        if "case_id" in model.__table__.c:
            found.add(model.__tablename__)
    return found


def test_every_case_owned_table_is_copied_or_left_behind_with_a_reason():
    missing = _owned_tables() - set(transfers.CASE_OWNED)
    assert not missing, (f"tables of a case that a transfer neither copies nor leaves behind: "
                         f"{sorted(missing)} — add them to app.cases.transfer.CASE_OWNED")
    assert all(owned.why for owned in transfers.CASE_OWNED.values())
    # Nothing stale: every registered table exists.
    assert set(transfers.CASE_OWNED) <= set(Model.metadata.tables)


def test_the_registry_check_catches_a_new_table(monkeypatch):
    monkeypatch.delitem(transfers.CASE_OWNED, "case_notes")
    assert "case_notes" in _owned_tables() - set(transfers.CASE_OWNED)


def _ready(app, world):
    partner_staff(app, world)
    with app.app_context():
        consent_to_transfer(world)
        return ask(world).id


def _counts(old_id):
    return {m.__tablename__: db.session.execute(select(func.count()).select_from(m).where(
        m.case_id == old_id)).scalar_one()
        for m in (ConsentRecord, Incident, CaseNote, StatusChange)}


def test_accepting_copies_every_record_under_a_new_key_and_erases_the_sender(app, world):
    tid = _ready(app, world)
    old_id = uuid.UUID(world.ids["case_own"])
    with app.app_context():
        old = case(world)
        records.add_note(user("caseworker", world), old, "NoteCanary-Transfer-19")
        old = case(world)
        before = _counts(old_id)
        old_key = old.data_key_id
        old_blob = old.full_name_sealed
        referrals_before = db.session.execute(select(func.count()).select_from(Referral).where(
            Referral.case_id == old_id)).scalar_one()
        t = db.session.get(CaseTransfer, tid)
        new = transfers.accept(user("partner_supervisor", world), t, partner_site(world),
                               user("partner_caseworker", world))
        new_id = new.id
    with app.app_context():
        assert db.session.get(Case, old_id) is None
        new = db.session.get(Case, new_id)
        # The receiving organisation's case: its site's number, its caseworker, its own key.
        assert new.organisation_id == uuid.UUID(world.ids["other_org"])
        assert new.case_number.startswith("PAR-") and new.primary_worker_id == uuid.UUID(
            world.users["partner_caseworker"]) and new.secondary_worker_id is None
        assert new.data_key_id != old_key
        assert new.full_name == CANARY["own_name"] and new.alias == CANARY["own_alias"]
        assert new.full_name_sealed != old_blob
        assert _counts(new_id) == before
        incident = db.session.execute(select(Incident).where(Incident.case_id == new_id)).scalar_one()
        assert incident.narrative == CANARY["own_narrative"]
        assert incident.data_key_id == new.data_key_id
        assert db.session.execute(select(func.count()).select_from(IncidentPerpetrator).where(
            IncidentPerpetrator.incident_id == incident.id)).scalar_one() == 1
        note = db.session.execute(select(CaseNote).where(CaseNote.case_id == new_id)).scalar_one()
        assert note.body == "NoteCanary-Transfer-19" and note.data_key_id == new.data_key_id
        # Every sealed record of the new case is under the new key.
        for model in SEALED_MODELS:
            if "case_id" in model.__table__.c:
                keys = set(db.session.execute(select(model.data_key_id).where(
                    model.case_id == new_id)).scalars())
                assert keys <= {new.data_key_id}, model.__tablename__
        # The name is found again, through the new key's index entries only.
        assert db.session.execute(select(func.count()).select_from(BlindIndexEntry).where(
            BlindIndexEntry.data_key_id == old_key)).scalar_one() == 0
        # The sender's key is destroyed: the old blobs open with nothing.
        gone = db.session.get(DataKey, old_key)
        assert gone.wrapped is None and gone.destroyed_at is not None
        # A tombstone with the reason, the request linked to it, the referral trail kept.
        t = db.session.get(CaseTransfer, tid)
        assert t.status == TransferStatus.ACCEPTED and t.case_id is None
        assert t.new_case_id == new_id
        tomb = db.session.get(CaseTombstone, t.tombstone_id)
        assert tomb.reason == "transferred" and tomb.case_number == world.case_numbers["case_own"]
        trail = db.session.execute(select(ReferralTrail).where(
            ReferralTrail.tombstone_id == tomb.id)).scalars().all()
        assert len(trail) == referrals_before == 2
        assert {r.service_type for r in trail} == {"mhpss", "legal"}
        assert db.session.execute(select(func.count()).select_from(Referral).where(
            Referral.case_id == old_id)).scalar_one() == 0
    # Both sides audited: the request, the hand-over, the reception and the erasure.
    assert [e.reason for e in events(app, "case.transfer_request")] == ["normal"]
    assert [(e.object_id, e.reason) for e in events(app, "case.transfer_accept")] == [
        (str(old_id), "transferred")]
    assert [e.object_id for e in events(app, "case.transfer_receive")] == [str(new_id)]
    assert [e.reason for e in events(app, "case.erase")] == [
        f"transferred:{world.case_numbers['case_own']}"]
    every = " ".join(f"{e.reason} {e.object_id}" for e in events(app))
    assert CANARY["own_name"] not in every and "NoteCanary" not in every


def test_accepting_twice_transfers_once(app, world):
    tid = _ready(app, world)
    with app.app_context():
        stale = db.session.get(CaseTransfer, tid)
        db.session.expunge(stale)  # what a second supervisor's request read: still pending
        transfers.accept(user("partner_supervisor", world), db.session.get(CaseTransfer, tid),
                         partner_site(world), user("partner_caseworker", world))
    with app.app_context():
        # The claim itself: the row is taken, whoever comes second is refused.
        with pytest.raises(CaseError, match="no longer waiting"):
            transfers._claim(user("partner_supervisor", world), stale, TransferStatus.ACCEPTED,
                             None)
        db.session.rollback()
        with pytest.raises(CaseError, match="no longer waiting"):
            transfers.accept(user("partner_supervisor", world), db.session.get(CaseTransfer, tid),
                             partner_site(world), user("partner_caseworker", world))
        assert db.session.execute(select(func.count()).select_from(Case).where(
            Case.organisation_id == uuid.UUID(world.ids["other_org"]))).scalar_one() == 1
    assert len(events(app, "case.transfer_receive")) == 1


def test_a_failure_halfway_leaves_both_sides_as_they_were(app, world, monkeypatch):
    tid = _ready(app, world)
    real = transfers._copy_row

    def failing(model, *args, **kwargs):
        if model is Incident:  # after the case and its consent records are copied
            raise RuntimeError("disk full")
        return real(model, *args, **kwargs)

    monkeypatch.setattr(transfers, "_copy_row", failing)
    with app.app_context(), pytest.raises(RuntimeError):
        transfers.accept(user("partner_supervisor", world), db.session.get(CaseTransfer, tid),
                         partner_site(world), user("partner_caseworker", world))
    with app.app_context():
        old = case(world)
        assert old.full_name == CANARY["own_name"]
        assert db.session.get(DataKey, old.data_key_id).wrapped is not None
        assert db.session.get(CaseTransfer, tid).status == TransferStatus.PENDING
        assert db.session.execute(select(func.count()).select_from(Case).where(
            Case.organisation_id == uuid.UUID(world.ids["other_org"]))).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(CaseTombstone)).scalar_one() == 0
    assert events(app, "case.transfer_receive") == [] and events(app, "case.erase") == []
    monkeypatch.setattr(transfers, "_copy_row", real)
    with app.app_context():  # and it can be accepted afterwards
        transfers.accept(user("partner_supervisor", world), db.session.get(CaseTransfer, tid),
                         partner_site(world), user("partner_caseworker", world))
        assert db.session.get(CaseTransfer, tid).status == TransferStatus.ACCEPTED


def test_declining_or_cancelling_changes_nothing_in_the_case(app, world):
    tid = _ready(app, world)
    with app.app_context():
        old = case(world)
        version = old.version
        with pytest.raises(CaseError, match="reason"):
            transfers.decline(user("partner_supervisor", world),
                              db.session.get(CaseTransfer, tid), "because")
        transfers.decline(user("partner_supervisor", world), db.session.get(CaseTransfer, tid),
                          "no_capacity")
        t = db.session.get(CaseTransfer, tid)
        assert (t.status, t.reason) == ("declined", "no_capacity")
        assert case(world).version == version
        # Asked again, then cancelled by the sender.
        again = ask(world)
        transfers.cancel(user("caseworker", world), case(world))
        assert db.session.get(CaseTransfer, again.id).status == TransferStatus.CANCELLED
        with pytest.raises(CaseError, match="no longer waiting"):
            transfers.cancel(user("caseworker", world), case(world))
        with pytest.raises(CaseError, match="no longer waiting"):
            transfers.accept(user("partner_supervisor", world),
                             db.session.get(CaseTransfer, again.id), partner_site(world),
                             user("partner_caseworker", world))
        assert case(world).version == version
        assert case(world).full_name == CANARY["own_name"]
    assert [e.reason for e in events(app, "case.transfer_decline")] == ["no_capacity"]
    assert [e.reason for e in events(app, "case.transfer_cancel")] == ["cancelled_by_sender"]


def test_consent_to_transfer_is_required_and_its_withdrawal_cancels(app, world):
    partner_staff(app, world)
    with app.app_context():
        with pytest.raises(CaseError, match="consent to transfer"):
            ask(world)
        assert db.session.execute(select(func.count()).select_from(CaseTransfer)).scalar_one() == 0
        consent_to_transfer(world)
        tid = ask(world).id
        consent_to_transfer(world, granted=False)
        t = db.session.get(CaseTransfer, tid)
        assert (t.status, t.reason) == ("cancelled", "consent_withdrawn")
    assert [e.reason for e in events(app, "case.transfer_cancel")] == ["consent_withdrawn"]


def test_an_open_urgent_referral_needs_confirming(app, world):
    partner_staff(app, world)
    with app.app_context():
        consent_to_transfer(world)
        db.session.execute(update(Referral).where(Referral.id == uuid.UUID(
            world.ids["ref_legal"])).values(urgency="urgent"))
        db.session.commit()
        with pytest.raises(transfers.UrgentReferralOpen) as refused:
            ask(world, confirmed=False)
        assert refused.value.items and "Urgent referral" in refused.value.items[0]
        assert db.session.execute(select(func.count()).select_from(CaseTransfer)).scalar_one() == 0
        assert ask(world, confirmed=True).status == "pending"


def test_bad_requests_are_refused_and_store_nothing(app, world):
    with app.app_context():
        consent_to_transfer(world)
        org = uuid.UUID(world.ids["org"])
        other = uuid.UUID(world.ids["other_org"])
        cases = [
            ({"organisation_id": other}, "no active supervisor"),  # nobody there can receive
            ({"organisation_id": org}, "already in this organisation"),
            ({"organisation_id": uuid.uuid4()}, "from the list"),
            ({"organisation_id": None}, "from the list"),
            ({"urgency": "now!"}, "how urgent"),
            ({"site_id": uuid.UUID(world.ids["tripoli"])}, "site of the receiving"),
        ]
        for over, message in cases:
            with pytest.raises(CaseError, match=message):
                ask(world, **over)
    partner_staff(app, world)
    with app.app_context():
        # Someone of another organisation, however they got the case object.
        with pytest.raises(CaseError, match="cannot transfer"):
            transfers.request(user("partner_caseworker", world), case(world),
                              organisation_id=uuid.UUID(world.ids["other_org"]), site_id=None,
                              urgency="normal", confirmed=True)
        # A closed case is read-only.
        db.session.execute(update(Case).where(Case.id == case(world).id).values(status="closed"))
        db.session.commit()
        with pytest.raises(CaseError, match="closed"):
            ask(world)
        assert db.session.execute(select(func.count()).select_from(CaseTransfer)).scalar_one() == 0
    assert events(app, "case.transfer_request") == []


def test_only_the_receiving_organisations_supervisor_decides(app, world):
    tid = _ready(app, world)
    with app.app_context():
        t = db.session.get(CaseTransfer, tid)
        for name in ("supervisor", "partner_caseworker"):
            with pytest.raises(CaseError, match="receiving organisation"):
                transfers.accept(user(name, world), t, partner_site(world),
                                 user("partner_caseworker", world))
        # The site and caseworker must be the receiver's own.
        with pytest.raises(CaseError, match="your sites"):
            transfers.accept(user("partner_supervisor", world), t, case(world).site,
                             user("partner_caseworker", world))
        with pytest.raises(CaseError, match="caseworker of that site"):
            transfers.accept(user("partner_supervisor", world), t, partner_site(world),
                             user("caseworker", world))
        assert db.session.get(CaseTransfer, tid).status == "pending"


def test_erasing_a_case_cancels_its_pending_request(app, world):
    tid = _ready(app, world)
    with app.app_context():
        service.erase(user("supervisor", world), case(world), "survivor_request")
        t = db.session.get(CaseTransfer, tid)
        assert (t.status, t.reason, t.case_id) == ("cancelled", "case_erased", None)
        # An ordinary erasure keeps no referral trail.
        assert db.session.execute(select(func.count()).select_from(ReferralTrail)).scalar_one() == 0
        assert db.session.get(Organisation, t.to_organisation_id) is not None


def test_bytes_sealed_outside_a_field_need_their_own_copier(app, world, monkeypatch):
    with app.app_context():
        key = db.session.get(DataKey, case(world).data_key_id)
        # A binary column the generic copy cannot re-seal (here a key's wrapped bytes).
        with pytest.raises(RuntimeError, match="copy function"):
            transfers._copy_row(DataKey, key, key.id, None, {}, {})
    calls = []

    def own_copy(row, old_key, new_key, ids):
        calls.append(row.id)
        return transfers._copy_row(CaseNote, row, old_key, new_key, ids, {})

    monkeypatch.setitem(transfers.CASE_OWNED, "case_notes",
                        transfers.copied("notes, by their own copier", copy=own_copy))
    tid = _ready(app, world)
    with app.app_context():
        records.add_note(user("caseworker", world), case(world), "Copied by its own copier")
        transfers.accept(user("partner_supervisor", world), db.session.get(CaseTransfer, tid),
                         partner_site(world), user("partner_caseworker", world))
    assert len(calls) == 1


def test_the_cases_files_go_with_it_under_the_new_key(app, world):
    """A signed consent form attached to the case is copied, re-sealed under the receiving
    case's key; the sender's copy and the copies shared with its referrals die with its key."""
    from app.attachments import service as attachments
    from app.attachments.models import Attachment, AttachmentContent, ReferralAttachment
    from tests.helpers.files import attach_file, pdf_bytes, share_file

    tid = _ready(app, world)
    body = pdf_bytes(b"TransferFileCanary-23")
    old_file = attach_file(app, world, data=body)
    share_file(app, world)
    with app.app_context():
        old_content = db.session.execute(select(AttachmentContent).where(
            AttachmentContent.attachment_id == uuid.UUID(old_file))).scalar_one()
        old_blob = old_content.content_sealed
        t = db.session.get(CaseTransfer, tid)
        new_id = transfers.accept(user("partner_supervisor", world), t, partner_site(world),
                                  user("partner_caseworker", world)).id
    with app.test_request_context():
        new = db.session.get(Case, new_id)
        files = db.session.execute(select(Attachment).where(
            Attachment.case_id == new_id)).scalars().all()
        # The world's case may already hold files of its own: each one went across.
        assert uuid.UUID(old_file) not in {f.id for f in files}
        copied = [f for f in files if attachments.content_of(f) == body]
        assert len(copied) == 1
        assert copied[0].data_key_id == new.data_key_id
        assert copied[0].original_name == "consent-form.pdf"
        content = db.session.execute(select(AttachmentContent).where(
            AttachmentContent.attachment_id == copied[0].id)).scalar_one()
        assert content.data_key_id == new.data_key_id
        assert content.content_sealed != old_blob
        assert db.session.get(Attachment, uuid.UUID(old_file)) is None
        assert db.session.execute(select(func.count()).select_from(ReferralAttachment)
                                  ).scalar_one() == 0
