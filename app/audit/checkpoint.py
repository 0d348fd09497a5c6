"""Signed checkpoints of the chain head, and the key that verifies them.

A checkpoint says "event N had MAC M at time T", signed with Ed25519. Kept outside the database
(printed, mailed to a second organisation, stored offline), it later proves that the trail was
not cut off after N, and not rewritten up to N. The signing key comes from ``instance/`` (its 32
bytes are the Ed25519 seed); the public half can be exported on its own so that anyone can check
a checkpoint without the application's secrets.

The trail is several independent chains (``app.audit.writer``), so a checkpoint names every
chain's head: truncating the tail of any one chain is then caught. File format (JSON):
``format`` (``amana-audit-checkpoint/2``), ``heads`` (a list of ``[chain, seq, mac hex]``, one
per chain holding events, in chain order), ``seq`` and ``mac`` (the highest head, for display),
``time`` (ISO 8601 UTC), ``key_id`` (first 16 hex digits of SHA-256 over the raw public key) and
``signature`` (base64 of the Ed25519 signature over the statement bytes, see ``statement``,
which cover every head). Checkpoints of format 1, made while there was one chain, name its
head with ``seq`` and ``mac`` alone and are read as a head of chain 0. ``make`` writes one
document (indented); ``make_line`` writes it on one line for the append-only checkpoint log
(``app.audit.checkpoint_log``), where checkpoints are also made automatically
(``app.audit.autocheckpoint``). ``load`` reads either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT_ONE_CHAIN = "amana-audit-checkpoint/1"
FORMAT = "amana-audit-checkpoint/2"
MAX_CHAINS = 16         # the head rows the migrations make
MAX_BYTES = 16 * 1024   # a checkpoint is a few hundred bytes
MAX_SEQ = 2 ** 63 - 1   # event numbers are BIGINTs


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, malformed or not signed by the expected key."""


@dataclass(frozen=True)
class Checkpoint:
    """A verified statement of the chains' heads; ``seq`` and ``mac`` name the highest."""

    seq: int
    mac: bytes
    time: datetime
    key_id: str
    heads: tuple[tuple[int, int, bytes], ...] = ()

    @property
    def chain_heads(self) -> tuple[tuple[int, int, bytes], ...]:
        """(chain, seq, mac) of every chain it names (one chain for a format-1 checkpoint)."""
        return self.heads or ((0, self.seq, self.mac),)


Heads = Sequence[tuple[int, int, bytes]]


def top(heads: Heads) -> tuple[int, bytes]:
    """The highest (seq, mac) among ``heads``; (0, zeros) when there is none."""
    best = max(heads, key=lambda h: h[1], default=(0, 0, b"\x00" * 32))
    return best[1], best[2]


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


def statement(seq: int, mac: bytes, at: datetime, heads: Heads | None = None) -> bytes:
    """The exact bytes that are signed: format 2 names every head, format 1 (``heads`` None)
    the one chain's."""
    if heads is None:
        return f"{FORMAT_ONE_CHAIN}\nseq={seq}\nmac={mac.hex()}\ntime={_time_text(at)}\n".encode(
            "ascii")
    lines = "".join(f"head={c}:{s}:{m.hex()}\n" for c, s, m in heads)
    return (f"{FORMAT}\nseq={seq}\nmac={mac.hex()}\n{lines}time={_time_text(at)}\n"
            .encode("ascii"))


def _document(seed: bytes, seq: int, mac: bytes, at: datetime,
              heads: Heads | None) -> dict[str, Any]:
    key = signing_key(seed)
    if heads is not None:
        heads = sorted(h for h in heads if h[1] > 0)
        seq, mac = top(heads)
    doc: dict[str, Any] = {
        "format": FORMAT if heads is not None else FORMAT_ONE_CHAIN,
        "seq": seq,
        "mac": mac.hex(),
        "time": _time_text(at),
        "key_id": key_id(key.public_key()),
        "signature": base64.b64encode(key.sign(statement(seq, mac, at, heads))).decode("ascii"),
    }
    if heads is not None:
        doc["heads"] = [[c, s, m.hex()] for c, s, m in heads]
    return doc


def make(seed: bytes, seq: int, mac: bytes, at: datetime, *, heads: Heads | None = None) -> str:
    """A signed checkpoint document (JSON text): of every chain's head in ``heads`` (chain,
    seq, mac; ``seq`` and ``mac`` are then ignored), or, without it, in the one-chain format of
    event ``seq`` with MAC ``mac``."""
    return json.dumps(_document(seed, seq, mac, at, heads), indent=2, sort_keys=True) + "\n"


def make_line(seed: bytes, seq: int, mac: bytes, at: datetime, *,
              heads: Heads | None = None) -> str:
    """The same document on one line (ending in a newline), for the checkpoint log."""
    return json.dumps(_document(seed, seq, mac, at, heads), sort_keys=True,
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
    if not isinstance(doc, dict) or doc.get("format") not in (FORMAT, FORMAT_ONE_CHAIN):
        raise CheckpointError(f"the checkpoint is not in the {FORMAT} format")
    heads = _heads(doc) if doc["format"] == FORMAT else None
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
        public.verify(signature, statement(seq, mac, at, heads))
    except InvalidSignature:
        raise CheckpointError("the checkpoint's signature does not verify with this key") from None
    if heads is not None and (seq, mac) != top(heads):
        raise CheckpointError("the checkpoint's seq and mac are not its highest head")
    return Checkpoint(seq=seq, mac=mac, time=at.astimezone(UTC), key_id=key_id(public),
                      heads=tuple(heads) if heads is not None else ((0, seq, mac),))


def _heads(doc: dict[str, Any]) -> list[tuple[int, int, bytes]]:
    """The heads of a format-2 document: distinct chains in order, each [chain, seq, mac]."""
    raw = doc.get("heads")
    if not isinstance(raw, list) or len(raw) > MAX_CHAINS:
        raise CheckpointError("the checkpoint has no valid 'heads'")
    heads: list[tuple[int, int, bytes]] = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 3
                and all(isinstance(v, int) and not isinstance(v, bool) for v in item[:2])
                and isinstance(item[2], str)):
            raise CheckpointError("the checkpoint has no valid 'heads'")
        try:
            mac = bytes.fromhex(item[2])
        except ValueError:
            raise CheckpointError("the checkpoint has a malformed field") from None
        if not (0 <= item[0] < MAX_CHAINS and 0 < item[1] <= MAX_SEQ and len(mac) == 32):
            raise CheckpointError("the checkpoint has a malformed field")
        heads.append((item[0], item[1], mac))
    if [h[0] for h in heads] != sorted({h[0] for h in heads}):
        raise CheckpointError("the checkpoint has no valid 'heads'")
    return heads
