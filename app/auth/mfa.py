"""TOTP (RFC 6238) with replay protection, and single-use recovery codes.

A code is accepted only for a time step later than the last one accepted for the account, and
only within one step of now (clock drift). TOTP secrets are sealed with AES-256-GCM, bound to
the user's id, under the "account-secrets" system data key (so KEK rotation re-wraps that key
and no secret depends on a KEK directly; secrets sealed before, under a key derived from KEK 1,
still open and are moved by ``flask keys rotate``). Recovery codes are random and long, so a
SHA-256 digest is a safe way to keep them (a slow hash adds nothing for 50 bits of randomness
drawn by the server).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets

import pyotp
import segno
from flask import current_app
from sqlalchemy import select, update

from app.auth.models import User
from app.clock import utcnow
from app.crypto.aead import SealError, derive_key, open_sealed, seal
from app.crypto.envelope import system_key
from app.db import db

ISSUER = "Amana"
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand


SYSTEM_KEY = "account-secrets"


def _key() -> bytes:
    return system_key(SYSTEM_KEY)


def _legacy_key() -> bytes | None:
    # Before envelope encryption, TOTP secrets were sealed under a key derived from KEK 1.
    raw = current_app.config.get("KEY_KEK_1")
    return derive_key(raw, "totp-secret") if raw else None


def _aad(user: User) -> bytes:
    return f"users|{user.id}|totp_secret".encode()


def new_secret() -> str:
    """A fresh 160-bit base32 TOTP secret."""
    return pyotp.random_base32(32)


def store_secret(user: User, secret: str) -> None:
    """Seal ``secret`` onto the account (enrolment is confirmed separately)."""
    user.totp_secret_sealed = seal(_key(), secret.encode(), _aad(user))


def secret_of(user: User) -> str:
    """The account's TOTP secret (raises ``SealError`` if the stored value was tampered with)."""
    if user.totp_secret_sealed is None:
        raise LookupError("no TOTP secret")
    try:
        return open_sealed(_key(), user.totp_secret_sealed, _aad(user)).decode()
    except SealError:
        legacy = _legacy_key()
        if legacy is None:
            raise
        # Raises SealError again if it was not sealed under the old key either.
        return open_sealed(legacy, user.totp_secret_sealed, _aad(user)).decode()


def reseal_legacy_secrets() -> int:
    """Re-seal TOTP secrets still under the pre-envelope key onto the system data key.

    Returns how many were moved (in the caller's transaction). A secret that opens under
    neither key raises ``SealError``: it was tampered with and must not be re-sealed.
    """
    moved = 0
    users = db.session.execute(select(User).where(User.totp_secret_sealed.is_not(None))).scalars()
    for user in users:
        assert user.totp_secret_sealed is not None
        try:
            open_sealed(_key(), user.totp_secret_sealed, _aad(user))
            continue
        except SealError:
            pass  # not under the current key: try the old one below, which raises if tampered
        legacy = _legacy_key()
        if legacy is None:
            raise SealError("TOTP secret opens under no known key")
        store_secret(user, open_sealed(legacy, user.totp_secret_sealed, _aad(user)).decode())
        moved += 1
    return moved


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> bytes:
    """The QR code of ``uri`` as a standalone SVG image (served from our origin, no inline code)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=4, xmldecl=True)
    return out.getvalue()


def current_step() -> int:
    """The TOTP time step of now."""
    return int(utcnow().timestamp()) // STEP_SECONDS


def matching_step(user: User, code: str) -> int | None:
    """The time step ``code`` is valid for, if it is fresh (not replayed) and in the window."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret_of(user))
    now = current_step()
    for step in (now - 1, now, now + 1):
        if step <= user.totp_last_step:
            continue  # already used, or older than a used code: a replay
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def replayed(user: User, code: str) -> bool:
    """Whether ``code`` is one already accepted (a step in the window, not after the last used
    one): the refusal can then say so, rather than "wrong code"."""
    totp = pyotp.TOTP(secret_of(user))
    now = current_step()
    return any(hmac.compare_digest(totp.at(step * STEP_SECONDS), code)
               for step in (now - 1, now, now + 1) if step <= user.totp_last_step)


def claim_step(user: User, step: int) -> bool:
    """Mark ``step`` used, unless it (or a later one) already was: False then, a replay.

    ``matching_step`` judges by the account as this request loaded it. Another host or worker
    accepting the same code between that load and this transaction's commit is seen only here:
    the update is conditional on the stored last step, and the row lock makes the second of two
    racing requests find the first's step and change nothing. Call it in the transaction that
    accepts the code."""
    done = db.session.execute(update(User).where(User.id == user.id,
                                                 User.totp_last_step < step)
                              .values(totp_last_step=step))
    return getattr(done, "rowcount", 0) == 1


def new_recovery_codes() -> list[str]:
    """Ten fresh codes such as ``K7QM-2XPA-9D`` (about 50 bits each)."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def recovery_digest(code: str) -> bytes:
    """Digest of a recovery code, ignoring case, spaces and dashes."""
    canonical = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(f"amana-recovery|{canonical}".encode()).digest()
