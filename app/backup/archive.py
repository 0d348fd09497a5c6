"""The backup file: one file, one backup, every byte of it checked.

Layout (the first lines are text, so ``head -c 4096 FILE`` shows the manifest)::

    AMANA-BACKUP 1\\n
    <length of the manifest in bytes, decimal>\\n
    <manifest: JSON, keys sorted, one line>\\n
    <Ed25519 signature over "amana-backup/1\\n" + manifest, base64>\\n
    <the database dump, to the end of the file>

The manifest names the dump's length and SHA-256, and the signature covers the manifest, so a
byte changed anywhere (header, manifest, signature, dump), a file cut short or one with bytes
added is refused. The signing key is the instance's ``audit_signing`` key, the one that signs
audit checkpoints; the statement starts with its own format line, so a backup signature can
never pass for a checkpoint signature or the reverse. The dump is the last ``dump.bytes``
bytes of the file (``tail -c <bytes> FILE > db.pgdump`` extracts it by hand).

This module reads and writes the format only; it knows nothing of Flask or the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.audit.checkpoint import key_id

FORMAT = "amana-backup/1"
MAGIC = b"AMANA-BACKUP 1\n"
MAX_MANIFEST = 64 * 1024
SIGNATURE_TEXT = 88  # base64 of 64 bytes
CHUNK = 1 << 20
DUMP_NAMES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}


class BackupError(Exception):
    """A backup cannot be made, read or restored; the message is one line for the operator."""


@dataclass(frozen=True)
class Manifest:
    """A manifest whose signature verified under the expected key, with its raw bytes."""

    doc: dict[str, Any]
    raw: bytes

    @property
    def engine(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return str(self.doc["engine"])

    @property
    def dump_bytes(self) -> int:
        """The length of the dump."""
        return int(self.doc["dump"]["bytes"])

    @property
    def backup_id(self) -> str:
        """The backup's own identifier (named in the audit events about it)."""
        return str(self.doc["backup_id"])


def statement(manifest: bytes) -> bytes:
    """The exact bytes that are signed."""
    return FORMAT.encode("ascii") + b"\n" + manifest


def encode_manifest(doc: dict[str, Any]) -> bytes:
    """The manifest as it is stored and signed: JSON on one line, keys sorted, ASCII."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def header(doc: dict[str, Any], seed: bytes) -> bytes:
    """Everything before the dump: format line, manifest length, manifest, signature."""
    raw = encode_manifest(doc)
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(statement(raw))
    return (MAGIC + str(len(raw)).encode("ascii") + b"\n" + raw + b"\n"
            + base64.b64encode(signature) + b"\n")


def digest_file(path: Path) -> tuple[int, str]:
    """(length, SHA-256 hex) of a file."""
    h, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def write_private(out: Path, head: bytes, dump: Path) -> None:
    """Write the backup to ``out`` (mode 0600, never replacing a file): first under a temporary
    name in the same folder, synced, then linked to ``out``, so ``out`` is whole or absent."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise BackupError(f"Cannot write {out} ({exc.strerror}).") from None
    try:
        with os.fdopen(fd, "wb") as fh, dump.open("rb") as src:
            fh.write(head)
            while chunk := src.read(CHUNK):
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, out)
        except FileExistsError:
            raise BackupError(f"{out} already exists; choose another name.") from None
        except OSError as exc:
            raise BackupError(f"Cannot write {out} ({exc.strerror}).") from None
    finally:
        tmp.unlink(missing_ok=True)


def _line(fh: IO[bytes], limit: int, what: str) -> bytes:
    line = fh.readline(limit + 1)
    if not line.endswith(b"\n"):
        if len(line) <= limit:
            raise BackupError(f"The backup is truncated (it ends inside its {what}).")
        raise BackupError(f"This is not an Amana backup (its {what} is malformed).")
    return line[:-1]


def _manifest_doc(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise BackupError("The backup's manifest is not valid; the file was altered.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BackupError("The backup's manifest is not valid; the file was altered.")
    dump = doc.get("dump")
    if (not isinstance(dump, dict) or not isinstance(dump.get("bytes"), int)
            or not isinstance(dump.get("sha256"), str) or doc.get("engine") not in DUMP_NAMES
            or not isinstance(doc.get("instance"), str)
            or not isinstance(doc.get("backup_id"), str)):
        raise BackupError("The backup's manifest is not valid; the file was altered.")
    return doc


def read(path: Path, public: Ed25519PublicKey, *, copy_to: Path | None = None,
         progress: Callable[[int], None] | None = None) -> Manifest:
    """Check a backup file completely and return its manifest.

    Checks, in order: the format line, that the manifest was made by this instance (its
    ``instance`` names the key that signed it), the signature, then the dump's length and
    SHA-256, read to the end. With ``copy_to`` the dump is copied there (0600) while it is
    hashed, so what is restored is exactly what was checked, whatever happens to ``path``
    afterwards. Raises ``BackupError`` with one line.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise BackupError(f"Cannot read {path} ({exc.strerror}).") from None
    with fh:
        magic = fh.read(len(MAGIC))
        if magic != MAGIC:
            if MAGIC.startswith(magic):
                raise BackupError("The backup is truncated (it ends inside its header).")
            raise BackupError(f"{path} is not an Amana backup.")
        length_text = _line(fh, 7, "header")
        if not length_text.isdigit() or length_text.startswith(b"0") \
                or int(length_text) > MAX_MANIFEST:
            raise BackupError("This is not an Amana backup (its header is malformed).")
        raw = fh.read(int(length_text))
        if len(raw) < int(length_text):
            raise BackupError("The backup is truncated (it ends inside its manifest).")
        if fh.read(1) not in (b"\n", b""):
            raise BackupError("The backup's manifest is not valid; the file was altered.")
        doc = _manifest_doc(raw)
        signature_text = _line(fh, SIGNATURE_TEXT, "signature")
        ours = key_id(public)
        if doc["instance"] != ours:
            raise BackupError(f"This backup was made by another instance (signing key "
                              f"{str(doc['instance'])[:16]}), not this one ({ours}); refused.")
        try:
            signature = base64.b64decode(signature_text, validate=True)
            public.verify(signature, statement(raw))
        except (binascii.Error, ValueError, InvalidSignature):
            raise BackupError("The backup's signature does not verify with this instance's key; "
                              "the file was altered or was not made here.") from None
        manifest = Manifest(doc, raw)
        _check_dump(fh, manifest, copy_to, progress)
    return manifest


def _check_dump(fh: IO[bytes], manifest: Manifest, copy_to: Path | None,
                progress: Callable[[int], None] | None) -> None:
    h, size = hashlib.sha256(), 0
    out = None
    if copy_to is not None:
        out = os.fdopen(os.open(copy_to, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                                0o600), "wb")
    try:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
            if progress is not None:
                progress(len(chunk))
    finally:
        if out is not None:
            out.close()
    expected = manifest.dump_bytes
    if size < expected:
        raise BackupError(f"The backup is truncated ({size:,} of {expected:,} dump bytes).")
    if size > expected:
        raise BackupError("The backup has bytes after its dump; the file was altered.")
    if h.hexdigest() != manifest.doc["dump"]["sha256"]:
        raise BackupError("The dump's SHA-256 differs from the signed manifest; the file was "
                          "altered.")
