"""What a file is, found from its content alone, and its clean copy.

The name a browser sends and its content type are never read: a file is a PDF when it starts
with ``%PDF-`` and ends with ``%%EOF``, a PNG or a JPEG when it has that format's signature and
Pillow decodes the whole image. Images are then drawn again from their pixels alone (after the
camera's orientation is applied), so no metadata survives: EXIF (a phone's GPS position, the
device, the time), XMP, comments, colour profiles. PDFs are kept as sent (their metadata is not
stripped: see the README). A refusal is ``FileRefused`` with the message to show; nothing of
the file is in it.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from app.attachments.models import FileType
from app.core.errors import CaseError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
PDF_HEADER = b"%PDF-"
PDF_TRAILER = b"%%EOF"
PDF_TAIL = 1024  # where the end-of-file marker must be (trailing whitespace allowed)
JPEG_QUALITY = 90


class FileRefused(CaseError):
    """A file Amana does not keep (the message says why; ``code`` goes to the trail)."""

    def __init__(self, message: object, code: str) -> None:
        super().__init__(str(message))
        self.code = code


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed: its type and the bytes to keep (an image's clean copy)."""

    file_type: FileType
    data: bytes


def sniff(raw: bytes) -> FileType | None:
    """The type the content's first bytes claim (None: none accepted)."""
    if raw.startswith(PDF_HEADER):
        return FileType.PDF
    if raw.startswith(PNG_SIGNATURE):
        return FileType.PNG
    if raw.startswith(JPEG_SIGNATURE):
        return FileType.JPEG
    return None


def check(raw: bytes, *, max_bytes: int, max_pixels: int) -> CheckedFile:
    """The file to keep, or ``FileRefused``: empty, larger than ``max_bytes``, not a PDF, PNG
    or JPEG by its content, damaged, or an image of more than ``max_pixels`` pixels."""
    if not raw:
        raise FileRefused(_l("The file is empty. Choose the file again."), "empty")
    if len(raw) > max_bytes:
        raise FileRefused(_l("The file is larger than %(mb)s MB. Nothing was saved: scan it at "
                             "a lower resolution, or split it.", mb=_megabytes(max_bytes)),
                          "too_large")
    kind = sniff(raw)
    if kind is None:
        raise FileRefused(_l("Only PDF, JPEG and PNG files can be attached, and this file is "
                             "none of them (whatever its name says)."), "not_accepted_type")
    if kind is FileType.PDF:
        if PDF_TRAILER not in raw[-PDF_TAIL:]:
            raise FileRefused(_l("This PDF is incomplete or damaged (its end is missing). "
                                 "Save or scan it again."), "damaged_pdf")
        return CheckedFile(kind, raw)
    return CheckedFile(kind, clean_image(raw, kind, max_pixels))


def _megabytes(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f}" if mb >= 1 else f"{mb:.2f}"


def clean_image(raw: bytes, kind: FileType, max_pixels: int) -> bytes:
    """The image drawn again from its pixels, upright, without any metadata."""
    damaged = FileRefused(_l("This image is damaged or not really a %(type)s file. Save or "
                             "scan it again.", type=kind.value.upper()), "damaged_image")
    fmt = "PNG" if kind is FileType.PNG else "JPEG"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(raw), formats=[fmt]) as probe:
                width, height = probe.size
                if width * height > max_pixels:
                    raise _too_many_pixels()
                probe.verify()
            with Image.open(io.BytesIO(raw), formats=[fmt]) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
        except FileRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError,
                KeyError, struct.error):
            raise damaged from None
    wanted = ("L", "LA", "RGB", "RGBA") if kind is FileType.PNG else ("L", "RGB")
    if upright.mode not in wanted:
        upright = upright.convert("RGBA" if kind is FileType.PNG else "RGB")
    # A new image from the pixels alone: nothing of the original's info, EXIF or profile.
    bare = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    out = io.BytesIO()
    if kind is FileType.PNG:
        bare.save(out, format="PNG", optimize=False)
    else:
        bare.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _too_many_pixels() -> FileRefused:
    return FileRefused(_l("This image is too large in pixels to be checked safely. Save it at "
                          "a lower resolution and attach it again."), "too_many_pixels")
