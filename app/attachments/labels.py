"""What the attachment codes are called (shown, never compared)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.attachments.models import AttachmentKind, FileType

KIND_LABELS: dict[str, Any] = {
    AttachmentKind.CONSENT_FORM: _l("Signed consent form"),
    AttachmentKind.THUMBPRINT: _l("Thumbprint"),
    AttachmentKind.MEDICAL_CERTIFICATE: _l("Medical certificate"),
    AttachmentKind.POLICE_REPORT: _l("Police report"),
    AttachmentKind.IDENTITY_DOCUMENT: _l("Identity document"),
    AttachmentKind.OTHER: _l("Other document"),
}
TYPE_LABELS: dict[str, Any] = {FileType.PDF: "PDF", FileType.JPEG: "JPEG", FileType.PNG: "PNG"}
KIND_CHOICES = [(k.value, KIND_LABELS[k]) for k in AttachmentKind]


def kind_label(code: str) -> str:
    """The translated name of a kind of file (its code if unknown)."""
    return str(KIND_LABELS.get(code, code))


def type_label(code: str) -> str:
    """The name of a file type."""
    return str(TYPE_LABELS.get(code, code))


def size_label(n: int) -> str:
    """A file's size for people: kilobytes under a megabyte, else megabytes (one decimal)."""
    from flask_babel import format_decimal

    if n < 1024 * 1024:
        return str(_l("%(n)s KB", n=format_decimal(max(1, round(n / 1024)))))
    return str(_l("%(n)s MB", n=format_decimal(round(n / (1024 * 1024), 1))))
