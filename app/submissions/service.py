"""Issuing, reading and claiming one-time submission tokens.

A token is 16 random bytes, the time it was issued and an HMAC-SHA256 over both, the account,
the form's kind and (for records inside a case) the case, under a key derived from the app's
secret key; it travels only in a hidden field of a POSTed form, never in a URL, a log or the
audit trail. Only its SHA-256 digest is stored, when a create claims it.

- ``issue``: a new token for a form being rendered (nothing is written).
- ``read``: the token sent back, checked against the account, kind and case (``Refused``).
- ``prior``: the claim an earlier POST of this token made, if any (a retry); the form's
  ``replayed()`` (``app.forms.OneTimeSubmission``) asks it before anything else.
- ``claim``: inside the create's transaction, records which record the token made. Two POSTs
  at once both reach it; the digest is the primary key, so one insert fails, that request's
  whole create rolls back and it answers like a retry (``AlreadySaved``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from flask import abort, current_app, flash, make_response, redirect, render_template
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.clock import utcnow
from app.db import db, transaction
from app.submissions.models import SubmissionToken

DEFAULT_HOURS = 24
_NONCE, _TIME, _MAC = 16, 8, 32
_LENGTH = _NONCE + _TIME + _MAC
_MAX_TEXT = 120  # a token is 75 characters; anything much longer is not one
_DOMAIN = b"amana/submission-token/v1"


class Refused(ValueError):
    """A token that was not issued to this account for this form (or is not a token);
    ``reason`` is a code for the audit trail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AlreadySaved(Exception):
    """This submission was already made: ``claim`` (the record it made) says where.

    Raised by ``claim`` when a concurrent POST of the same token committed first; the claim is
    looked up after the caller's transaction has rolled back.
    """

    def __init__(self, digest: bytes, claim: SubmissionToken | None = None) -> None:
        super().__init__("submission already saved")
        self.digest, self._claim = digest, claim

    @property
    def claim(self) -> SubmissionToken:
        """The claim of the earlier submission (read once the failed transaction is over)."""
        if self._claim is None:
            self._claim = db.session.get(SubmissionToken, self.digest)
            if self._claim is None:  # the other claim rolled back after all: not a retry
                raise RuntimeError("submission token conflict without a claim")
        return self._claim


@dataclass(frozen=True)
class Submission:
    """A token read back from a form: what ``claim`` records."""

    digest: bytes
    user_id: uuid.UUID
    kind: str
    issued_at: datetime


def lifetime() -> timedelta:
    """How long a token is accepted and a claim kept (``SUBMISSION_TOKEN_HOURS``, 24)."""
    return timedelta(hours=int(current_app.config.get("SUBMISSION_TOKEN_HOURS", DEFAULT_HOURS)))


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(secret, _DOMAIN, hashlib.sha256).digest()


def _mac(body: bytes, user_id: uuid.UUID, kind: str, context: uuid.UUID | None) -> bytes:
    bound = b"\x00".join((_DOMAIN, kind.encode(), user_id.bytes,
                          context.bytes if context else b"", body))
    return hmac.new(_key(), bound, hashlib.sha256).digest()


def issue(user_id: uuid.UUID, kind: str, context: uuid.UUID | None = None) -> str:
    """A new token for ``user_id``'s form of ``kind`` (about ``context``, e.g. the case)."""
    body = secrets.token_bytes(_NONCE) + int(utcnow().timestamp()).to_bytes(_TIME, "big")
    raw = body + _mac(body, user_id, kind, context)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def read(token: str, user_id: uuid.UUID, kind: str,
         context: uuid.UUID | None = None) -> Submission:
    """The submission ``token`` stands for; ``Refused`` unless it was issued to ``user_id``
    for a form of ``kind`` about ``context``. Expiry is the caller's question (``expired``)."""
    text = (token or "").strip()
    if not text or len(text) > _MAX_TEXT:
        raise Refused("not_a_token")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Refused("not_a_token") from None
    # One spelling per token: base64 decoding skips stray characters, and the digest (the
    # claim's key) is taken over the bytes, so a respelt token is still the same submission.
    if len(raw) != _LENGTH or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise Refused("not_a_token")
    body, mac = raw[:_NONCE + _TIME], raw[_NONCE + _TIME:]
    if not hmac.compare_digest(mac, _mac(body, user_id, kind, context)):
        raise Refused("not_issued_for_this_form")
    issued = datetime.fromtimestamp(int.from_bytes(body[_NONCE:], "big"), UTC)
    return Submission(hashlib.sha256(raw).digest(), user_id, str(kind), issued)


def expired(submission: Submission) -> bool:
    """Whether the token is past its lifetime (its claim, if any, may be gone by now)."""
    return utcnow() - submission.issued_at > lifetime()


def prior(submission: Submission) -> SubmissionToken | None:
    """The claim an earlier POST of this token made, if any. A claim by another account or
    form (not possible with a token that ``read`` accepted, short of a forged key) is
    ``Refused``."""
    found: SubmissionToken | None = db.session.execute(
        select(SubmissionToken).where(SubmissionToken.digest == submission.digest)
    ).scalar_one_or_none()
    if found is not None and (found.user_id != submission.user_id
                              or found.kind != submission.kind):
        raise Refused("claimed_by_another_form")
    return found


def claim(submission: Submission | None, object_type: ObjectType | str,
          object_id: uuid.UUID) -> None:
    """Record that ``submission`` made the record ``object_type``/``object_id``.

    Call inside the create's transaction, after the record is flushed, so the claim commits
    or rolls back with it. A claim already there (a concurrent POST of the same form that
    committed first) raises ``AlreadySaved``: the caller's transaction rolls back and it
    answers like a retry. Claims past their lifetime are deleted on the way (an index range
    scan, usually of nothing). ``None`` (a create from a command or the demo seed) claims nothing.
    """
    if submission is None:
        return
    db.session.flush()
    now = utcnow()
    db.session.execute(delete(SubmissionToken).where(SubmissionToken.created_at < now - lifetime()))
    db.session.add(SubmissionToken(digest=submission.digest, user_id=submission.user_id,
                                   kind=submission.kind, created_at=now,
                                   object_type=str(object_type), object_id=object_id))
    try:
        db.session.flush()
    except IntegrityError:
        raise AlreadySaved(submission.digest) from None


# --- Answers of the views ------------------------------------------------------------------

def refuse(reason: str) -> NoReturn:
    """Answer 400 with one clear page: the token is not this account's for this form. The
    refusal is audited (reason code only, never the token); nothing else changes."""
    with transaction():
        record(Action.SUBMISSION_REFUSED, object_type=ObjectType.SUBMISSION,
               outcome=Outcome.DENIED, reason=reason)
    page = render_template(
        "errors/error.html", code=400, title=_("Bad request"),
        message=_("This form was not opened by your account on this page, or it has been "
                  "replaced. Nothing was saved. Go back, reload the page and try again."))
    abort(make_response(page, 400))


def already_saved(claimed: SubmissionToken, url: str) -> Response:
    """Send a retried submission to the record it made (audited, with a message)."""
    with transaction():
        record(Action.SUBMISSION_REPLAYED, object_type=claimed.object_type,
               object_id=claimed.object_id, reason=claimed.kind)
    flash(_("This was already saved; here it is."), "info")
    return redirect(url)

