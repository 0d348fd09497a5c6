"""HPKE (RFC 9180), base mode, for one suite: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, and
AES-256-GCM (AES-128-GCM only for the RFC's published test vectors, appendix A.3).

Field intake (``app.field``) uses it: the browser seals each submission to the organisation's
intake public key (the same algorithm in ``app/static/js/field-intake.js``, on WebCrypto), and
the server opens it here with the private key. Built from ``cryptography``'s primitives (ECDH on
P-256, HMAC-SHA256, AES-GCM); the key schedule is the RFC's, step by step:

- ``LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" || suite_id || label || ikm)``
- ``LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id ||
  label || info, L)``
- Encap: an ephemeral key pair, ``dh = ECDH(skE, pkR)`` (the x-coordinate), ``enc = pkE``
  (65-byte uncompressed point), ``shared_secret = LabeledExpand(LabeledExtract("", "eae_prk",
  dh), "shared_secret", enc || pkR, 32)`` under the KEM's suite id ``"KEM" || 0x0010``.
- Key schedule (mode 0, no PSK): ``key_schedule_context = 0x00 || LabeledExtract("",
  "psk_id_hash", "") || LabeledExtract("", "info_hash", info)``; ``secret =
  LabeledExtract(shared_secret, "secret", "")``; ``key``, ``base_nonce`` and ``exporter_secret``
  expanded from it under the HPKE suite id ``"HPKE" || kem_id || kdf_id || aead_id``.
- The n-th message's nonce is ``base_nonce XOR I2OSP(n, 12)``; a single-shot seal is message 0.

``open`` raises ``HpkeError`` for anything that does not open (a point not on the curve, a wrong
key, a changed byte of ``enc``, ``aad``, ``info`` or the ciphertext), never another exception.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEM_P256_SHA256 = 0x0010
KDF_SHA256 = 0x0001
AES_128_GCM = 0x0001
AES_256_GCM = 0x0002
_KEY_LENGTH = {AES_128_GCM: 16, AES_256_GCM: 32}
_NONCE_LENGTH = 12
_HASH_LENGTH = 32
POINT_LENGTH = 65   # an uncompressed P-256 point
SCALAR_LENGTH = 32  # a P-256 private scalar
_VERSION = b"HPKE-v1"
_KEM_SUITE = b"KEM" + KEM_P256_SHA256.to_bytes(2, "big")
_MODE_BASE = b"\x00"


class HpkeError(ValueError):
    """An envelope that does not open, or a key that is not a P-256 key."""


def _suite(aead: int) -> bytes:
    return (b"HPKE" + KEM_P256_SHA256.to_bytes(2, "big") + KDF_SHA256.to_bytes(2, "big")
            + aead.to_bytes(2, "big"))


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    """RFC 9180 ``LabeledExtract``."""
    return _extract(salt, _VERSION + suite + label + ikm)


def labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    """RFC 9180 ``LabeledExpand``."""
    return _expand(prk, length.to_bytes(2, "big") + _VERSION + suite + label + info, length)


def _public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _load_public(point: bytes) -> ec.EllipticCurvePublicKey:
    if len(point) != POINT_LENGTH or point[0] != 0x04:
        raise HpkeError("not an uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:  # not on the curve
        raise HpkeError("not a P-256 point") from exc


def load_private(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key of a 32-byte scalar (``HpkeError`` if it is not one)."""
    value = int.from_bytes(scalar, "big")
    if len(scalar) != SCALAR_LENGTH or not 0 < value < _ORDER:
        raise HpkeError("not a P-256 private scalar")
    return ec.derive_private_key(value, ec.SECP256R1())


_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def generate() -> tuple[bytes, bytes]:
    """A new key pair: (private scalar, 32 bytes; public point, 65 bytes)."""
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(SCALAR_LENGTH, "big")
    return scalar, _public_point(key.public_key())


def public_of(scalar: bytes) -> bytes:
    """The public point of a private scalar."""
    return _public_point(load_private(scalar).public_key())


def _shared_secret(dh: bytes, enc: bytes, recipient: bytes) -> bytes:
    prk = labeled_extract(_KEM_SUITE, b"", b"eae_prk", dh)
    return labeled_expand(_KEM_SUITE, prk, b"shared_secret", enc + recipient, _HASH_LENGTH)


@dataclass
class Context:
    """An HPKE encryption context (RFC 9180 section 5.2): key, base nonce, sequence number."""

    key: bytes
    base_nonce: bytes
    exporter_secret: bytes
    key_schedule_context: bytes
    secret: bytes
    shared_secret: bytes
    seq: int = 0
    _cipher: AESGCM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._cipher = AESGCM(self.key)

    def nonce(self) -> bytes:
        """The nonce of the current sequence number."""
        counter = self.seq.to_bytes(_NONCE_LENGTH, "big")
        return bytes(a ^ b for a, b in zip(self.base_nonce, counter, strict=True))

    def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        """Encrypt the next message."""
        out = self._cipher.encrypt(self.nonce(), plaintext, aad)
        self.seq += 1
        return out

    def open(self, aad: bytes, ciphertext: bytes) -> bytes:
        """Decrypt the next message (``HpkeError`` if it does not open)."""
        try:
            out = self._cipher.decrypt(self.nonce(), ciphertext, aad)
        except InvalidTag as exc:
            raise HpkeError("the ciphertext does not open") from exc
        self.seq += 1
        return out


def key_schedule(shared_secret: bytes, info: bytes, aead: int = AES_256_GCM) -> Context:
    """RFC 9180 ``KeySchedule`` in base mode (no PSK)."""
    suite = _suite(aead)
    psk_id_hash = labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(suite, b"", b"info_hash", info)
    context = _MODE_BASE + psk_id_hash + info_hash
    secret = labeled_extract(suite, shared_secret, b"secret", b"")
    return Context(
        key=labeled_expand(suite, secret, b"key", context, _KEY_LENGTH[aead]),
        base_nonce=labeled_expand(suite, secret, b"base_nonce", context, _NONCE_LENGTH),
        exporter_secret=labeled_expand(suite, secret, b"exp", context, _HASH_LENGTH),
        key_schedule_context=context, secret=secret, shared_secret=shared_secret)


def setup_base_sender(recipient: bytes, info: bytes, *, aead: int = AES_256_GCM,
                      ephemeral: bytes | None = None) -> tuple[bytes, Context]:
    """``SetupBaseS``: (enc, context) for the recipient's public point. ``ephemeral`` (a
    private scalar) is for the published test vectors only; otherwise a fresh one is made."""
    peer = _load_public(recipient)
    key = load_private(ephemeral) if ephemeral is not None else ec.generate_private_key(
        ec.SECP256R1())
    enc = _public_point(key.public_key())
    dh = key.exchange(ec.ECDH(), peer)
    return enc, key_schedule(_shared_secret(dh, enc, recipient), info, aead)


def setup_base_recipient(private_key: bytes, enc: bytes, info: bytes, *,
                         aead: int = AES_256_GCM) -> Context:
    """``SetupBaseR``: the context the sender's ``enc`` makes with this private key."""
    key = load_private(private_key)
    dh = key.exchange(ec.ECDH(), _load_public(enc))
    return key_schedule(_shared_secret(dh, enc, _public_point(key.public_key())), info, aead)


def seal(public_key: bytes, *, info: bytes, aad: bytes, plaintext: bytes,
         aead: int = AES_256_GCM) -> tuple[bytes, bytes]:
    """Single-shot ``Seal``: (enc, ciphertext)."""
    enc, context = setup_base_sender(public_key, info, aead=aead)
    return enc, context.seal(aad, plaintext)


def open(private_key: bytes, *, enc: bytes, info: bytes, aad: bytes, ciphertext: bytes,
         aead: int = AES_256_GCM) -> bytes:
    """Single-shot ``Open`` (``HpkeError`` when it does not open)."""
    return setup_base_recipient(private_key, enc, info, aead=aead).open(aad, ciphertext)
