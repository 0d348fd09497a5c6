"""Signed checkpoints of the chain head, and the key that verifies them.

A checkpoint says "event N had MAC M at time T", signed with Ed25519. Kept outside the database
(printed, mailed to a second organisation, stored offline), it later proves that the trail was
not cut off after N, and not rewritten up to N. The signing key comes from ``instance/`` (its 32
bytes are the Ed25519 seed); the public half can be exported on its own so that anyone can check
a checkpoint without the application's secrets.

File format (JSON): ``format``, ``seq``, ``mac`` (hex), ``time`` (ISO 8601 UTC), ``key_id``
(first 16 hex digits of SHA-256 over the raw public key) and ``signature`` (base64 of the
Ed25519 signature over the statement bytes, see ``statement``). ``make`` writes one document
(indented); ``make_line`` writes it on one line for the append-only checkpoint log
(``app.audit.checkpoint_log``), where checkpoints are also made automatically
(``app.audit.autocheckpoint``). ``load`` reads either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "amana-audit-checkpoint/1"
MAX_BYTES = 16 * 1024   # a checkpoint is a few hundred bytes
MAX_SEQ = 2 ** 63 - 1   # event numbers are BIGINTs


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, malformed or not signed by the expected key."""


@dataclass(frozen=True)
class Checkpoint:
    """A verified statement of the chain head."""

    seq: int
    mac: bytes
    time: datetime
    key_id: str


def signing_key(seed: bytes) -> Ed25519PrivateKey:
    """The Ed25519 private key whose seed is ``seed`` (32 bytes from instance/keys)."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name for a public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(seed: bytes) -> bytes:
    """The verifying key as PEM (SubjectPublicKeyInfo), safe to publish."""
    return signing_key(seed).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """Read an exported verifying key."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise CheckpointError("the public key file is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("the public key is not an Ed25519 key")
    return key


def _time_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def statement(seq: int, mac: bytes, at: datetime) -> bytes:
    """The exact bytes that are signed."""
    return f"{FORMAT}\nseq={seq}\nmac={mac.hex()}\ntime={_time_text(at)}\n".encode("ascii")


def _document(seed: bytes, seq: int, mac: bytes, at: datetime) -> dict[str, Any]:
    key = signing_key(seed)
    return {
        "format": FORMAT,
        "seq": seq,
        "mac": mac.hex(),
        "time": _time_text(at),
        "key_id": key_id(key.public_key()),
        "signature": base64.b64encode(key.sign(statement(seq, mac, at))).decode("ascii"),
    }


def make(seed: bytes, seq: int, mac: bytes, at: datetime) -> str:
    """A signed checkpoint document (JSON text) for event ``seq`` with MAC ``mac``."""
    return json.dumps(_document(seed, seq, mac, at), indent=2, sort_keys=True) + "\n"


def make_line(seed: bytes, seq: int, mac: bytes, at: datetime) -> str:
    """The same document on one line (ending in a newline), for the checkpoint log."""
    return json.dumps(_document(seed, seq, mac, at), sort_keys=True,
                      separators=(",", ":")) + "\n"


def _field(doc: dict[str, Any], name: str, kind: type) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CheckpointError(f"the checkpoint has no valid '{name}'")
    return value


def load(text: str | bytes, public: Ed25519PublicKey) -> Checkpoint:
    """Parse a checkpoint and check its signature; raises ``CheckpointError``."""
    if len(text) > MAX_BYTES:
        raise CheckpointError("the checkpoint file is too large")
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError("the checkpoint is not JSON") from None
    except RecursionError:  # deeply nested arrays or objects: certainly not a checkpoint
        raise CheckpointError(f"the checkpoint is not in the {FORMAT} format") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"the checkpoint is not in the {FORMAT} format")
    seq = _field(doc, "seq", int)
    try:
        mac = bytes.fromhex(_field(doc, "mac", str))
        at = datetime.fromisoformat(_field(doc, "time", str).replace("Z", "+00:00"))
        if at.tzinfo is not None:
            at.astimezone(UTC)  # year 1 east of UTC, or 9999 west of it, has no UTC time
        signature = base64.b64decode(_field(doc, "signature", str), validate=True)
    except (ValueError, OverflowError, binascii.Error):
        raise CheckpointError("the checkpoint has a malformed field") from None
    if not 0 <= seq <= MAX_SEQ or len(mac) != 32 or at.tzinfo is None:
        raise CheckpointError("the checkpoint has a malformed field")
    try:
        public.verify(signature, statement(seq, mac, at))
    except InvalidSignature:
        raise CheckpointError("the checkpoint's signature does not verify with this key") from None
    return Checkpoint(seq=seq, mac=mac, time=at.astimezone(UTC), key_id=key_id(public))
