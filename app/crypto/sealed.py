"""Sealing one value: the core that sealed fields (``app.crypto.fields``) are built on.

    where = dict(table="cases", field="full_name", record_id=case.id,
                 data_key_id=case.data_key_id, version=2, present=b"full_name,phone")
    blob = seal_value(TEXT, "Fatima", **where)
    name = open_value(TEXT, blob, **where)
    # or, as sealed fields do, with the record's Sealer (cipher and AAD heads worked out once):
    sealer = Sealer("cases", case.id, case.data_key_id)
    name = open_value(TEXT, blob, "full_name", 2, b"full_name,phone", sealer)

Stored form: format byte 0x02, a fresh random 96-bit nonce, AES-256-GCM ciphertext and tag,
under the record's data key. Associated data: format, table, field, record id, data key id, the
record's version and the names of the record's sealed fields that hold a value at that version
(``presence``). So a value copied to another row, field, table or key fails to open; so does a
value put back from an older version of its own record (a previous phone number restored from a
backup), and removing a value (setting it to NULL) makes the record's other values fail. Only a
whole row put back with its version passes here: ``flask keys verify --deep`` catches that
against the audit trail (``app.crypto.deep``). Format 0x01 (no version; before migration 0011)
is refused. ``None`` is stored as NULL.
Text is padded to 32-byte blocks (long text to 256) so a ciphertext's length does not give a
name's exact length away. ``open_value`` never returns raw bytes or "" for a value that does
not open: it raises ``DecryptionError`` and notes the failure for the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from os import urandom as _urandom
from typing import Any, Generic, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto.aead import NONCE_BYTES
from app.crypto.envelope import REVOKED, unwrapped
from app.crypto.failures import failed

T = TypeVar("T")
FORMAT = b"\x02"  # 0x01 (no version in the associated data) is refused since migration 0011
AAD_PREFIX = b"amana/field|v2|"
_MIN_LEN = 1 + NONCE_BYTES + 16


class Codec(Generic[T]):
    """How a value of one kind becomes plaintext bytes and back."""

    def encode(self, value: T) -> bytes:
        """Plaintext bytes of ``value``; ``TypeError``/``ValueError`` for bad input (the message
        never repeats the value)."""
        raise NotImplementedError

    def decode(self, raw: bytes) -> T:
        """The value of bytes made by ``encode`` (``ValueError`` if they are not)."""
        raise NotImplementedError


_PADS: dict[int, tuple[bytes, ...]] = {}


class Text(Codec[str]):
    """Short text (names, phone numbers, places), at most ``max_length`` characters."""

    def __init__(self, max_length: int = 500, block: int = 32) -> None:
        self.max_length, self.block = max_length, block
        # The padding for each length modulo the block, made once.
        self._pads = _PADS.get(block) or _PADS.setdefault(
            block, tuple(b"\x80" + bytes(block - 1 - i) for i in range(block)))

    def encode(self, value: str) -> bytes:
        """UTF-8, padded to a block as in ISO/IEC 7816-4: 0x80, then zeros up to the next
        multiple of the block."""
        if not isinstance(value, str):
            raise TypeError("a sealed text field takes text")
        if len(value) > self.max_length:
            raise ValueError(f"text longer than {self.max_length} characters")
        raw = value.encode()
        return raw + self._pads[len(raw) % self.block]

    def decode(self, raw: bytes) -> str:
        """Unpadded UTF-8."""
        body = raw.rstrip(b"\x00")
        if body[-1:] != b"\x80":
            raise ValueError("bad padding")
        return body[:-1].decode()


class LongText(Text):
    """Long text (narratives, notes, plans)."""

    def __init__(self, max_length: int = 100_000) -> None:
        super().__init__(max_length=max_length, block=256)


class DateCodec(Codec[date]):
    """A calendar date."""

    def encode(self, value: date) -> bytes:
        """ISO 8601."""
        if not isinstance(value, date) or hasattr(value, "hour"):
            raise TypeError("a sealed date field takes a date")
        return value.isoformat().encode("ascii")

    def decode(self, raw: bytes) -> date:
        """From ISO 8601."""
        return date.fromisoformat(raw.decode("ascii"))


class IntCodec(Codec[int]):
    """A whole number."""

    def encode(self, value: int) -> bytes:
        """Decimal digits."""
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("a sealed number field takes a whole number")
        return str(value).encode("ascii")

    def decode(self, raw: bytes) -> int:
        """From decimal digits."""
        return int(raw.decode("ascii"))


class BytesCodec(Codec[bytes]):
    """Raw bytes (a file), at most ``max_bytes`` long; stored as given (a file's size is not
    secret: it is shown with the file)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def encode(self, value: bytes) -> bytes:
        """The bytes themselves."""
        if not isinstance(value, bytes):
            raise TypeError("a sealed bytes field takes bytes")
        if len(value) > self.max_bytes:
            raise ValueError(f"more than {self.max_bytes} bytes")
        return value

    def decode(self, raw: bytes) -> bytes:
        """The bytes themselves."""
        return raw


TEXT, LONG_TEXT, DATE, INT = Text(), LongText(), DateCodec(), IntCodec()


_HEADS: dict[tuple[str, str], bytes] = {}


def head(table: str, field: str) -> bytes:
    """The constant start of the GCM associated data of ``table.field`` (format byte included)."""
    found = _HEADS.get((table, field))
    if found is None:
        found = _HEADS[(table, field)] = FORMAT + AAD_PREFIX + f"{table}|{field}|".encode()
    return found


def presence(names: Iterable[str]) -> bytes:
    """The part of the associated data naming which sealed fields of a record hold a value."""
    return ",".join(sorted(names)).encode()


def _version(version: int) -> bytes:
    # Eight bytes, big-endian; anything else (negative, huge, not a number) is not a version.
    return version.to_bytes(8, "big")


def aad(table: str, field: str, record_id: uuid.UUID, data_key_id: uuid.UUID, version: int,
        present: bytes) -> bytes:
    """Associated data binding a value to its table, field, record, data key, the record's
    version and which of its fields hold a value (the format byte is prepended when sealing,
    as ``app.crypto.aead`` does)."""
    return (head(table, field)[1:] + record_id.bytes + data_key_id.bytes + _version(version)
            + present)


class Sealer:
    """What every value of one record (``table``, record id, data key id) is sealed with.

    Worked out once per record, not once per value: the data key's cipher (held through the
    app context's entry, ``app.crypto.envelope.unwrapped``) and, per field, the constant start
    of the associated data (format, table, field, record id, data key id). Each call then adds
    only a fresh nonce, the version and the presence. Sealed fields keep one sealer on each
    record they read or write (``app.crypto.fields.sealer_of``); it never holds a value.

    It holds the app context's entry for the unwrapped key, not the key: ``envelope`` revokes
    that entry when the key is shredded, when the context's keys are forgotten and when the
    context ends, and the next call asks ``envelope`` again (a shredded key then raises
    ``KeyDestroyedError`` there). So a sealer kept on a record never outlives its key.
    """

    __slots__ = ("table", "record_id", "data_key_id", "key", "heads")

    def __init__(self, table: str, record_id: uuid.UUID | None,
                 data_key_id: uuid.UUID | None) -> None:
        if record_id is None or data_key_id is None:
            raise ValueError("seal a value only once its record has an id and a data key")
        self.table, self.record_id, self.data_key_id = table, record_id, data_key_id
        self.key = REVOKED  # looked up on first use
        self.heads: dict[str, bytes] = {}

    def cipher(self) -> AESGCM:
        """The data key's cipher, asked of ``envelope`` again once the entry held is revoked."""
        found = self.key.cipher
        if found is None:
            self.key = unwrapped(self.data_key_id)
            found = self.key.cipher
            assert found is not None  # a fresh entry is never revoked
        return found

    def head(self, field: str) -> bytes:
        """The constant start of the associated data of ``field`` in this record."""
        found = self.heads.get(field)
        if found is None:
            found = self.heads[field] = (head(self.table, field) + self.record_id.bytes
                                         + self.data_key_id.bytes)
        return found


_SEALER = "_amana_sealer"  # a sealed record's instance dict: its Sealer


def sealer_of(record: Any, table: str) -> Sealer:
    """The ``Sealer`` of a sealed record in ``table``, kept on the record: made again when its
    id or data key is not the one it was made for (a sealer holds no value, only the key's
    entry). Read from the instance dict: an attribute lookup through SQLAlchemy costs more."""
    d = record.__dict__
    found: Sealer | None = d.get(_SEALER)
    if (found is None or found.record_id is not d.get("id")
            or found.data_key_id is not d.get("data_key_id") or found.table != table):
        found = d[_SEALER] = Sealer(table, record.id, record.data_key_id)
    return found


# The functions below take ``sealer`` (the record's, as sealed fields pass it) or else
# ``table``, ``record_id`` and ``data_key_id`` (a sealer is made for the one call). They run for
# every value read or written, so their bodies inline the sealer's fast paths: each step here
# is measured (bench/bench_crypto.py).


def seal_bytes(plain: bytes, field: str, version: int, present: bytes,
               sealer: Sealer | None = None, *, table: str = "",
               record_id: uuid.UUID | None = None,
               data_key_id: uuid.UUID | None = None) -> bytes:
    """The stored form of plaintext bytes (what ``seal_value`` does after encoding)."""
    s = sealer or Sealer(table, record_id, data_key_id)
    cipher = s.key.cipher or s.cipher()
    nonce = _urandom(NONCE_BYTES)
    return FORMAT + nonce + cipher.encrypt(
        nonce, plain, (s.heads.get(field) or s.head(field)) + version.to_bytes(8, "big") + present)


def open_bytes(blob: bytes, field: str, version: int, present: bytes,
               sealer: Sealer | None = None, *, table: str = "",
               record_id: uuid.UUID | None = None,
               data_key_id: uuid.UUID | None = None) -> bytes:
    """The plaintext bytes sealed in ``blob``, or ``DecryptionError`` (audited)."""
    s = sealer or Sealer(table, record_id, data_key_id)
    cipher = s.key.cipher or s.cipher()
    if len(blob) < _MIN_LEN or blob[0] != 2:
        # 0x01 is the format before values were bound to versions: refused (a downgrade).
        reason = "old_format" if blob[:1] == b"\x01" else "unknown_format"
        raise failed(s.table, s.record_id, f"{field}:{reason}")
    try:
        tail = version.to_bytes(8, "big")  # anything but a version fails here
    except (AttributeError, OverflowError, TypeError):
        raise failed(s.table, s.record_id, f"{field}:bad_version") from None
    try:
        return cipher.decrypt(blob[1:13], blob[13:],
                              (s.heads.get(field) or s.head(field)) + tail + present)
    except InvalidTag:
        raise failed(s.table, s.record_id, f"{field}:auth_failed") from None


def seal_value(codec: Codec[T], value: T | None, field: str, version: int, present: bytes,
               sealer: Sealer | None = None, *, table: str = "",
               record_id: uuid.UUID | None = None,
               data_key_id: uuid.UUID | None = None) -> bytes | None:
    """The stored form of ``value`` (None for None). ``record_id`` must be final: set it before
    sealing (``Model(id=uuid.uuid4(), ...)``), as the id is part of the associated data; so are
    ``version`` (the record's version once this write is flushed) and ``present``."""
    if value is None:
        return None
    plain = codec.encode(value)
    s = sealer or Sealer(table, record_id, data_key_id)  # seal_bytes, inlined (one call less)
    cipher = s.key.cipher or s.cipher()
    nonce = _urandom(NONCE_BYTES)
    return FORMAT + nonce + cipher.encrypt(
        nonce, plain, (s.heads.get(field) or s.head(field)) + version.to_bytes(8, "big") + present)


def open_value(codec: Codec[T], blob: bytes | None, field: str, version: int, present: bytes,
               sealer: Sealer | None = None, *, table: str = "",
               record_id: uuid.UUID | None = None,
               data_key_id: uuid.UUID | None = None) -> T | None:
    """The value sealed in ``blob`` (None for NULL), or ``DecryptionError`` (audited)."""
    if blob is None:
        return None
    s = sealer or Sealer(table, record_id, data_key_id)
    if len(blob) < _MIN_LEN or blob[0] != 2 or type(version) is not int:
        open_bytes(blob, field, version, present, s)  # names the refusal (and audits it)
    cipher = s.key.cipher or s.cipher()
    try:  # open_bytes, inlined (one call less), then decoded
        plain = cipher.decrypt(blob[1:13], blob[13:], (s.heads.get(field) or s.head(field))
                               + version.to_bytes(8, "big") + present)
    except InvalidTag:
        raise failed(s.table, s.record_id, f"{field}:auth_failed") from None
    except OverflowError:  # a version no record has (negative, or past eight bytes)
        raise failed(s.table, s.record_id, f"{field}:bad_version") from None
    try:
        return codec.decode(plain)
    except ValueError:  # ... then decoded: authentic, but not this field's kind of value
        raise failed(s.table, s.record_id, f"{field}:decode_failed") from None
