"""Attachments: what is accepted (by content, never by name), the size limit of the upload
only, metadata stripped from images, sealed at rest under the case's key, downloads only as
downloads and only within the case's scope, every upload and download audited, shredded with
the case, shared with a referral only within consent and under the referral's key."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.attachments import service as attachments
from app.attachments.models import Attachment, AttachmentContent, ReferralAttachment
from app.auth.models import User
from app.cases.models import Case
from app.crypto.errors import DecryptionError
from app.db import db
from tests.helpers.audit import events
from tests.helpers.files import PDF_CANARY, has_gps, jpeg_with_gps, pdf_bytes, png_bytes
from tests.helpers.forms import form_tokens

#: The files each test starts with: a consent form on the caseworker's case and a file shared
#: with the MHPSS referral (tests.helpers.files), made afresh in each test's database.
SEEDED: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _seeded(app, world):
    from tests.helpers.files import attach_file, share_file

    SEEDED["attachment_own"] = attach_file(app, world)
    SEEDED["shared_file"] = share_file(app, world)


def _upload(c, case_id, data: bytes, name: str = "scan.pdf", kind: str = "consent_form",
            description: str = "", tokens: dict[str, str] | None = None, **over):
    action = f"/cases/{case_id}/attachments"
    if tokens is None:
        page = c.get(f"/cases/{case_id}").get_data(as_text=True)
        tokens = form_tokens(page, action)
    body = {"attachment-kind": kind, "attachment-description": description, **tokens,
            "attachment-file": (io.BytesIO(data), name), **over}
    return c.post(action, data=body, content_type="multipart/form-data")


def _count(app, model=Attachment) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _newest(app, case_id) -> Attachment:
    """The one file a test added to the case (besides the test world's own)."""
    with app.app_context():
        found = list(db.session.execute(
            select(Attachment).where(Attachment.case_id == uuid.UUID(case_id),
                                     Attachment.id.not_in(_WORLD_FILES))).scalars())
        db.session.expunge_all()
        assert len(found) == 1
        return found[0]


_WORLD_FILES: list[uuid.UUID] = []


@pytest.fixture(autouse=True)
def _world_files(app, _seeded):
    with app.app_context():
        _WORLD_FILES[:] = list(db.session.execute(select(Attachment.id)).scalars())


def _download_path(case_id, attachment_id) -> str:
    return f"/cases/{case_id}/attachments/{attachment_id}"


# --- What is accepted ---------------------------------------------------------------------

@pytest.mark.parametrize(("data", "name", "message"), [
    (b"<html><script>alert(1)</script></html>", "report.pdf", "none of them"),
    (b"plain text pretending\n", "consent.pdf", "none of them"),
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60, "scan.pdf", "none of them"),  # a Windows .exe
    (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR-broken-header", "photo.png", "damaged"),
    (jpeg_with_gps()[:300], "photo.jpg", "damaged"),  # truncated
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "cut.pdf", "incomplete"),  # no %%EOF
    (b"", "empty.pdf", "empty"),
])
def test_bad_files_are_refused_with_a_message_and_nothing_stored(app, auth, world, data, name,
                                                                  message):
    c = auth.login("caseworker")
    before = (_count(app), _count(app, AttachmentContent))
    r = _upload(c, world.ids["case_own"], data, name=name)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and message in page
    assert 'id="attachment-file-error-1"' in page  # beside the file field
    assert (_count(app), _count(app, AttachmentContent)) == before
    if data:
        assert events(app, "attachment.upload", outcome="denied")


def test_the_type_comes_from_the_content_not_the_name(app, auth, world):
    c = auth.login("caseworker")
    r = _upload(c, world.ids["case_own"], png_bytes(), name="looks-like.pdf")
    assert r.status_code == 302
    found = _newest(app, world.ids["case_own"])
    assert found.file_type == "png"
    got = c.get(_download_path(world.ids["case_own"], found.id))
    assert got.mimetype == "image/png"
    assert got.headers["Content-Disposition"] == f'attachment; filename="attachment-{found.id.hex[:8]}.png"'


def test_a_decompression_bomb_is_refused_before_decoding(app, auth, world):
    app.config["ATTACHMENT_MAX_PIXELS"] = 10_000
    c = auth.login("caseworker")
    before = _count(app)
    r = _upload(c, world.ids["case_own"], png_bytes((200, 200)), name="big.png")
    assert r.status_code == 200 and "too large in pixels" in r.get_data(as_text=True)
    assert _count(app) == before


def test_missing_kind_or_file_is_shown_beside_the_field(app, auth, world):
    c = auth.login("caseworker")
    before = _count(app)
    r = _upload(c, world.ids["case_own"], pdf_bytes(), kind="")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="attachment-kind-error-1"' in page
    r = _upload(c, world.ids["case_own"], pdf_bytes(), kind="passport_scan_of_someone")
    assert r.status_code == 200 and 'id="attachment-kind-error-1"' in r.get_data(as_text=True)
    assert _count(app) == before


# --- Size limit: the upload only ----------------------------------------------------------

def test_oversized_upload_is_refused_with_a_message_and_nothing_stored(app, auth, world):
    app.config["ATTACHMENT_MAX_BYTES"] = 1024 * 1024  # 1 MB
    c = auth.login("caseworker")
    before = _count(app)
    big = pdf_bytes(b"x" * (2 * 1024 * 1024))
    r = _upload(c, world.ids["case_own"], big)
    page = r.get_data(as_text=True)
    assert r.status_code == 413 and "larger than 1 MB" in page and "Nothing was saved" in page
    assert _count(app) == before
    # Just over the file limit but under the request's (the form's fields are allowed for):
    # refused by the service, beside the field.
    r = _upload(c, world.ids["case_own"], pdf_bytes(b"y" * (1024 * 1024 + 100)))
    assert r.status_code == 200 and "larger than 1 MB" in r.get_data(as_text=True)
    assert _count(app) == before


def test_a_file_bigger_than_the_forms_limit_is_accepted_by_the_upload_only(app, auth, world):
    c = auth.login("caseworker")
    data = pdf_bytes(b"z" * (600 * 1024))  # over the app's 256 KiB, under 10 MB
    r = _upload(c, world.ids["case_own"], data)
    assert r.status_code == 302
    # Every other route keeps the 256 KiB limit: a note of 300 KiB is refused before parsing.
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    tokens = form_tokens(page, f"/cases/{world.ids['case_own']}/notes")
    r = c.post(f"/cases/{world.ids['case_own']}/notes",
               data={**tokens, "body": "n" * (300 * 1024)})
    assert r.status_code == 413
    # ... also sent as multipart with a file, to a route that takes none.
    r = c.post(f"/cases/{world.ids['case_own']}/notes",
               data={**tokens, "body": "short",
                     "attachment-file": (io.BytesIO(b"q" * (300 * 1024)), "a.pdf")},
               content_type="multipart/form-data")
    assert r.status_code == 413


# --- Metadata ----------------------------------------------------------------------------

def test_a_phone_photos_gps_position_does_not_survive(app, auth, world):
    original = jpeg_with_gps()
    assert has_gps(original) and b"CanaryPhoneMaker" in original
    c = auth.login("caseworker")
    assert _upload(c, world.ids["case_own"], original, name="IMG_2041.jpg",
                   kind="medical_certificate").status_code == 302
    found = _newest(app, world.ids["case_own"])
    got = c.get(_download_path(world.ids["case_own"], found.id)).get_data()
    assert got.startswith(b"\xff\xd8\xff")
    assert not has_gps(got)
    assert b"CanaryPhoneMaker" not in got and b"CanaryComment" not in got and b"Exif" not in got


def test_the_photo_is_turned_upright_before_its_metadata_goes(app, auth, world):
    c = auth.login("caseworker")
    sideways = jpeg_with_gps(size=(16, 8), orientation=6)  # "rotate 90° to view"
    assert _upload(c, world.ids["case_own"], sideways, name="p.jpg").status_code == 302
    found = _newest(app, world.ids["case_own"])
    got = c.get(_download_path(world.ids["case_own"], found.id)).get_data()
    with Image.open(io.BytesIO(got)) as image:
        assert image.size == (8, 16)
        assert 0x0112 not in image.getexif()


def test_png_text_chunks_do_not_survive(app, auth, world):
    c = auth.login("caseworker")
    data = png_bytes(text={"Comment": "PngChunkCanary", "Author": "Someone"})
    assert _upload(c, world.ids["case_own"], data, name="thumb.png",
                   kind="thumbprint").status_code == 302
    found = _newest(app, world.ids["case_own"])
    got = c.get(_download_path(world.ids["case_own"], found.id)).get_data()
    assert b"PngChunkCanary" not in got and b"tEXt" not in got


# --- Sealed, downloads, scope, audit ------------------------------------------------------

def test_stored_sealed_with_its_own_associated_data(app, auth, world):
    c = auth.login("caseworker")
    name = "Zainab-consent-NameCanary.pdf"
    _upload(c, world.ids["case_own"], pdf_bytes(), name=name, description="DescCanary-41")
    found = _newest(app, world.ids["case_own"])
    with app.test_request_context():
        a = db.session.get(Attachment, found.id)
        case = db.session.get(Case, a.case_id)
        content = db.session.execute(select(AttachmentContent).where(
            AttachmentContent.attachment_id == a.id)).scalar_one()
        assert a.data_key_id == case.data_key_id == content.data_key_id
        assert a.original_name == name and a.description == "DescCanary-41"
        assert PDF_CANARY not in content.content_sealed and content.content == pdf_bytes()
        assert b"NameCanary" not in a.original_name_sealed
        # The bytes moved to another attachment's row do not open there (own AAD).
        other = attachments.add(db.session.get(User, uuid.UUID(world.users["caseworker"])), case,
                                attachments.NewAttachment(kind="other", data=png_bytes()))
        other_content = db.session.execute(select(AttachmentContent).where(
            AttachmentContent.attachment_id == other.id)).scalar_one()
        table = AttachmentContent.__table__
        db.session.execute(table.update().where(table.c.id == other_content.id)
                           .values(content_sealed=content.content_sealed))
        db.session.commit()
        db.session.expire_all()
        with pytest.raises(DecryptionError):
            _ = db.session.get(AttachmentContent, other_content.id).content
        db.session.rollback()


def test_download_is_never_inline(app, auth, world):
    c = auth.login("caseworker")
    r = c.get(_download_path(world.ids["case_own"], SEEDED["attachment_own"]))
    assert r.status_code == 200 and r.get_data() == pdf_bytes()
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "consent-form" not in r.headers["Content-Disposition"]  # the neutral name only
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    csp = r.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script-src" not in csp
    # The provider's copy too.
    p = auth.login("service_provider")
    r = p.get(f"/referrals/{world.ids['ref_mhpss']}/files/{SEEDED['shared_file']}")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_shows_a_file_inline(app, auth, world):
    """Every route that serves a file's bytes says "attachment"; the case page and the
    referral page only link to the download (no img, object, embed or iframe of it)."""
    c = auth.login("caseworker")
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    link = _download_path(world.ids["case_own"], SEEDED["attachment_own"])
    assert f'href="{link}"' in page
    for tag in ("img", "object", "embed", "iframe"):
        assert not re.search(rf"<{tag}\b[^>]*{re.escape(link)}", page)
    assert "consent-form.pdf" not in page  # the original name is never shown
    _upload(c, world.ids["case_own"], png_bytes(), description="Clinic stamp on page two")
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    assert "<bdi>Clinic stamp on page two</bdi>" in page  # the description, to the case's readers
    p = auth.login("service_provider")
    page = p.get(f"/referrals/{world.ids['ref_mhpss']}").get_data(as_text=True)
    shared = f"/referrals/{world.ids['ref_mhpss']}/files/{SEEDED['shared_file']}"
    assert f'href="{shared}"' in page
    assert not re.search(rf"<(img|object|embed|iframe)\b[^>]*{re.escape(shared)}", page)
    # The routes that serve bytes are exactly the two checked in test_download_is_never_inline:
    # a new one fails here until it is checked there.
    serving = {rule.endpoint for rule in app.url_map.iter_rules()
               if rule.endpoint.startswith("attachments.") and "GET" in rule.methods}
    assert serving == {"attachments.download", "attachments.shared_download"}


def test_other_organisations_and_colleagues_get_404_and_auditors_see_only_events(app, auth,
                                                                                    world):
    path = _download_path(world.ids["case_own"], SEEDED["attachment_own"])
    assert auth.login("caseworker2").get(path).status_code == 404
    assert auth.login("caseworker_b").get(path).status_code == 404
    assert auth.login("auditor").get(path).status_code == 403
    assert auth.login("service_provider").get(path).status_code == 403
    # A made-up id inside one's own case: the same 404, audited.
    r = auth.login("caseworker").get(_download_path(world.ids["case_own"], uuid.uuid4()))
    assert r.status_code == 404
    assert events(app, "attachment.download", outcome="denied")
    # What the auditor sees: that files exist (uploads, by kind and type), never their bytes.
    uploads = events(app, "attachment.upload", outcome="allowed")
    assert uploads and uploads[0].reason == "consent_form:pdf"


def test_every_upload_and_download_is_audited(app, auth, world):
    c = auth.login("caseworker")
    before = len(events(app, "attachment.upload"))
    _upload(c, world.ids["case_own"], png_bytes(), name="x.png")
    found = _newest(app, world.ids["case_own"])
    ups = events(app, "attachment.upload", object_id=str(found.id))
    assert len(events(app, "attachment.upload")) == before + 1
    assert [e.reason for e in ups] == ["consent_form:png"]
    c.get(_download_path(world.ids["case_own"], found.id))
    downs = events(app, "attachment.download", object_id=str(found.id))
    assert len(downs) == 1 and downs[0].object_type == "attachment"
    p = auth.login("service_provider")
    p.get(f"/referrals/{world.ids['ref_mhpss']}/files/{SEEDED['shared_file']}")
    assert events(app, "attachment.download", object_id=SEEDED["shared_file"],
                  object_type="referral_attachment")


def test_posting_twice_stores_one_file(app, auth, world):
    c = auth.login("caseworker")
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    tokens = form_tokens(page, f"/cases/{world.ids['case_own']}/attachments")
    before = _count(app)
    first = _upload(c, world.ids["case_own"], pdf_bytes(), tokens=tokens)
    second = _upload(c, world.ids["case_own"], pdf_bytes(), tokens=tokens)
    assert first.status_code == 302 and second.status_code == 302
    assert _count(app) == before + 1
    assert events(app, "submission.replayed")


def test_a_closed_case_takes_no_file(app, auth, world):
    c = auth.login("caseworker")
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    tokens = form_tokens(page, f"/cases/{world.ids['case_own']}/attachments")  # taken while open
    with app.test_request_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        case.status = "closed"
        db.session.commit()
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    assert f'action="/cases/{world.ids["case_own"]}/attachments"' not in page
    before = _count(app)
    r = _upload(c, world.ids["case_own"], pdf_bytes(), tokens=tokens)
    assert r.status_code == 302
    assert "closed and read-only" in c.get(r.location).get_data(as_text=True)
    assert _count(app) == before


def test_break_glass_reads_but_does_not_upload(app, auth, world):
    from tests.helpers.files import attach_file

    far_file = attach_file(app, world, "case_far")
    s = auth.login("supervisor")
    path = _download_path(world.ids["case_far"], far_file)
    assert s.get(path).status_code == 404  # another site's case: out of scope
    with app.test_request_context():
        from app.cases import service as cases

        supervisor = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        cases.break_glass(supervisor, world.case_numbers["case_far"], "imminent_risk", None)
    assert s.get(path).status_code == 200  # read-only access reads the file (audited)
    assert events(app, "case.view", object_id=world.ids["case_far"], reason="break_glass")
    before = _count(app)
    r = s.post(f"/cases/{world.ids['case_far']}/attachments",
               data={"attachment-kind": "other", "csrf_token": auth.csrf(s),
                     "attachment-file": (io.BytesIO(pdf_bytes()), "a.pdf")},
               content_type="multipart/form-data")
    assert r.status_code == 404 and _count(app) == before  # never writes


# --- Erased with the case ------------------------------------------------------------------

def test_erasing_the_case_shreds_its_files_and_their_shared_copies(app, auth, world):
    with app.test_request_context():
        from app.cases import service as cases

        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        key_id = case.data_key_id
        content = db.session.execute(select(AttachmentContent).where(
            AttachmentContent.attachment_id == uuid.UUID(SEEDED["attachment_own"]))).scalar_one()
        sealed = content.content_sealed
        content_id = content.id
        supervisor = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        cases.erase(supervisor, case, "survivor_request")
    with app.test_request_context():
        assert db.session.get(Attachment, uuid.UUID(SEEDED["attachment_own"])) is None
        assert db.session.get(AttachmentContent, content_id) is None
        assert db.session.get(ReferralAttachment, uuid.UUID(SEEDED["shared_file"])) is None
        # A copy of the row kept elsewhere (a backup) no longer opens: the key is gone.
        from app.crypto.sealed import open_bytes

        with pytest.raises(DecryptionError):
            open_bytes(sealed, "content", 1, b"content", table="case_attachment_contents",
                       record_id=content_id, data_key_id=key_id)
    r = auth.login("caseworker").get(_download_path(world.ids["case_own"],
                                                    SEEDED["attachment_own"]))
    assert r.status_code == 404
    r = auth.login("service_provider").get(
        f"/referrals/{world.ids['ref_mhpss']}/files/{SEEDED['shared_file']}")
    assert r.status_code == 404


def test_the_proxy_lets_only_the_upload_through_with_more(app):
    """nginx: 256 KiB for everything, the attachment limit (plus the form's fields) for the
    upload's path alone (and a field device's envelopes on theirs: tests/test_field_sync.py)."""
    from pathlib import Path

    conf = (Path(__file__).resolve().parent.parent / "deploy" / "nginx-amana.conf").read_text()
    sizes = re.findall(r"client_max_body_size\s+(\d+)([km]);", conf)
    assert sizes[0] == ("256", "k") and len(sizes) == 3
    upload = re.search(r"location ~ \^/cases/\[0-9a-f-\]\+/attachments\$ \{[^}]*"
                       r"client_max_body_size (\d+)m;", conf)
    assert upload is not None
    assert int(upload.group(1)) * 1024 * 1024 >= app.config["ATTACHMENT_MAX_BYTES"] + 64 * 1024
