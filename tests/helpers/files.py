"""Files for the attachment tests, made here: small PDFs, PNGs and JPEGs (one with EXIF GPS),
and the bad ones (renamed, damaged, truncated)."""

from __future__ import annotations

import io

from PIL import Image

#: Bytes that must never be found in the database in clear (tests/test_crypto_at_rest.py).
PDF_CANARY = b"AttachmentCanary-PDF-5Z8Q"


def pdf_bytes(extra: bytes = PDF_CANARY) -> bytes:
    """A tiny PDF (one empty page) carrying ``extra`` in a comment."""
    body = (b"%PDF-1.4\n%" + extra + b"\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")
    return body


def png_bytes(size: tuple[int, int] = (8, 6), colour: tuple[int, int, int] = (200, 30, 30),
              text: dict[str, str] | None = None) -> bytes:
    """A small PNG, with text chunks ``text`` (metadata that must not survive)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (16, 8), orientation: int | None = None) -> bytes:
    """A JPEG as a phone makes it: EXIF with a GPS position (Tripoli), the camera's make, and
    optionally an orientation tag."""
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CanaryPhoneMaker"  # Make
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (32.0, 53.0, 0.0)
    gps[3] = "E"
    gps[4] = (13.0, 11.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"CanaryComment")
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    """Whether an image's EXIF still holds a GPS position or the camera's make."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return bool(exif.get_ifd(GPS_IFD)) or 0x010F in exif or "exif" in image.info


def attach_file(app, world, case_label: str = "case_own", data: bytes | None = None) -> str:
    """A scanned consent form attached to the world's case ``case_label`` by its caseworker
    (through the service, as the upload does); its id."""
    import uuid

    from app.attachments import service as attachments
    from app.auth.models import User
    from app.cases.models import Case
    from app.db import db

    with app.test_request_context():
        case = db.session.get(Case, uuid.UUID(world.ids[case_label]))
        worker = db.session.get(User, case.primary_worker_id)
        added = attachments.add(worker, case, attachments.NewAttachment(
            kind="consent_form", data=data if data is not None else pdf_bytes(),
            original_name="consent-form.pdf"))
        return str(added.id)


def share_file(app, world, referral_label: str = "ref_mhpss") -> str:
    """A file of the referral's case, copied into the referral ``referral_label`` as a send
    with consent does; the copy's id."""
    import uuid

    from app.attachments import service as attachments
    from app.attachments.models import Attachment
    from app.auth.models import User
    from app.cases.models import Case
    from app.db import db, transaction
    from app.referrals.models import Referral

    with app.test_request_context():
        referral = db.session.get(Referral, uuid.UUID(world.ids[referral_label]))
        case = db.session.get(Case, referral.case_id)
        label = next(k for k, v in world.ids.items() if v == str(case.id))
        source = db.session.get(Attachment, uuid.UUID(attach_file(app, world, label)))
        with transaction():
            attachments.copy_to_referral(referral, case, db.session.get(User, referral.sent_by_id),
                                         (source.id,))
        return str(attachments.for_referral(referral)[-1].id)
