"""``flask keys verify --deep``: opens every sealed value and compares every record's version with
the audit trail's last recorded write, so a whole row put back from an older backup (which
still opens: its values and version agree) is reported, by table, record id and kind, never a
value; the run is audited and the exit status says whether anything was found."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from app.cases.models import Case, CaseNote
from app.db import db
from app.referrals import service as referrals
from app.referrals.models import Referral
from tests.helpers.audit import events
from tests.helpers.factories import CANARY


def deep(app):
    return app.test_cli_runner().invoke(args=["keys", "verify", "--deep", "--batch-size", "2"])


def _row(app, model, rid):
    table = model.__table__
    with app.app_context():
        return dict(db.session.execute(sa.select(table).where(table.c.id == rid)).mappings().one())


def _restore(app, model, saved):
    table = model.__table__
    with app.app_context():
        db.session.execute(sa.update(table).where(table.c.id == saved["id"]).values(
            {k: v for k, v in saved.items() if k != "id"}))
        db.session.commit()


def _no_values(output):
    for text in CANARY.values():
        assert text not in output


def test_a_clean_database_reports_nothing(app, world):
    result = deep(app)
    assert result.exit_code == 0, result.output
    assert "Nothing found" in result.stdout
    assert "Opening sealed records" in result.stderr  # the progress bar, on standard error
    _no_values(result.output)
    run = events(app, "keys.verify")[-1]
    assert run.outcome == "allowed" and run.reason.startswith("deep:clean;records=")


def test_a_whole_row_put_back_from_an_older_backup_is_reported(app, world):
    cid = uuid.UUID(world.ids["case_own"])
    backup = _row(app, Case, cid)  # every column, version included
    with app.app_context():
        case = db.session.get(Case, cid)
        case.safe_contact = "Call her sister only, never the house"
        db.session.commit()
        newer = case.version
    _restore(app, Case, backup)
    with app.app_context():  # the old row is consistent: it opens, nothing at read time catches it
        assert db.session.get(Case, cid).full_name == CANARY["own_name"]
    result = deep(app)
    assert result.exit_code == 3, result.output
    assert (f"cases {cid} older_than_audit (row v{backup['version']}, last recorded write "
            f"v{newer})") in result.stdout
    assert result.stdout.count(" older_than_audit ") == 1
    _no_values(result.output)
    assert "Call her sister" not in result.output
    found = events(app, "record.version_mismatch")
    assert [(e.object_type, e.object_id, e.outcome) for e in found] == [("case", str(cid), "error")]
    assert found[0].reason == f"older_than_audit;row=v{backup['version']};audit=v{newer}"
    assert events(app, "keys.verify")[-1].outcome == "error"


def test_a_corrupted_value_is_reported_and_audited(app, world):
    cid = uuid.UUID(world.ids["case_own"])
    with app.app_context():
        case = db.session.get(Case, cid)
        note = CaseNote(case_id=cid, author_id=uuid.UUID(world.users["caseworker"]),
                        created_at=datetime.now(UTC), body="A private note", data_key=case.data_key)
        db.session.add(note)
        db.session.commit()
        nid = note.id
    blob = _row(app, CaseNote, nid)["body_sealed"]
    with app.app_context():
        table = CaseNote.__table__
        db.session.execute(sa.update(table).where(table.c.id == nid).values(
            body_sealed=blob[:-1] + bytes([blob[-1] ^ 1])))
        db.session.commit()
    result = deep(app)
    assert result.exit_code == 3, result.output
    assert f"case_notes {nid} does_not_open (body:auth_failed)" in result.stdout
    assert "A private note" not in result.output
    assert [(e.object_type, e.object_id, e.reason) for e in events(app, "crypto.decrypt_failed")] \
        == [("note", str(nid), "body:auth_failed")]


def test_a_row_written_outside_the_app_is_reported(app, world):
    cid = uuid.UUID(world.ids["case_own"])
    with app.app_context():
        key = db.session.get(Case, cid).data_key_id
        forged = uuid.uuid4()
        db.session.execute(sa.insert(CaseNote.__table__).values(
            id=forged, case_id=cid, author_id=uuid.UUID(world.users["caseworker"]),
            created_at=datetime.now(UTC), data_key_id=key, version=1, body_sealed=None))
        db.session.commit()
    result = deep(app)
    assert result.exit_code == 3
    assert f"case_notes {forged} newer_than_audit (row v1, no recorded write)" in result.stdout


def test_revoked_referrals_are_counted_not_reported(app, world):
    with app.app_context():
        referral = db.session.get(Referral, uuid.UUID(world.ids["ref_mhpss"]))
        referrals.revoke(None, referral, "sent_in_error")
    result = deep(app)
    assert result.exit_code == 0, result.output
    assert "1 under destroyed keys" in result.stdout


def test_without_deep_only_data_keys_are_checked(app, world):
    result = app.test_cli_runner().invoke(args=["keys", "verify"])
    assert result.exit_code == 0, result.output
    assert "Every data key" in result.output and "Deep check" not in result.output


def test_attached_files_are_opened_and_a_damaged_one_is_reported(app, world):
    """Every attachment's sealed rows (the case's file, its bytes and the referral's copy) are
    walked; a file whose bytes were altered is reported by table and id, never its content."""
    from app.attachments.models import AttachmentContent
    from tests.helpers.files import attach_file, share_file

    attached = attach_file(app, world)
    share_file(app, world)
    clean = deep(app)
    assert clean.exit_code == 0, clean.output
    with app.app_context():
        content = db.session.execute(sa.select(AttachmentContent.__table__).where(
            AttachmentContent.__table__.c.attachment_id == uuid.UUID(attached))
        ).mappings().one()
        blob = content["content_sealed"]
        table = AttachmentContent.__table__
        db.session.execute(sa.update(table).where(table.c.id == content["id"]).values(
            content_sealed=blob[:-1] + bytes([blob[-1] ^ 1])))
        db.session.commit()
    result = deep(app)
    assert result.exit_code == 3, result.output
    assert f"case_attachment_contents {content['id']} does_not_open (content:auth_failed)" \
        in result.stdout
    assert "AttachmentCanary" not in result.output
