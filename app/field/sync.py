"""Receiving sealed field envelopes: check, open, keep as pending intakes.

Each envelope is answered on its own, in its own transaction, in the order sent, with one of:

- ``accepted``: opened and kept as a pending ``FieldIntake`` of the uploader;
- ``duplicate``: its submission id is kept already for this user (an upload retried after its
  answer was lost): nothing new is kept, and the device may forget it;
- ``refused`` with a reason code: ``malformed`` (not an envelope of the agreed shape, or a
  plaintext that is not a submission), ``other_user`` (bound to another account, or its
  submission id is another account's), ``expired`` (made longer ago than
  ``FIELD_INTAKE_MAX_AGE_DAYS``, or more than ``FUTURE_SLACK`` ahead of the server's clock),
  ``unknown_key`` (not an unretired intake key of the uploader's organisation), ``tampered``
  (does not open: a byte of the ciphertext or of the bound fields changed).

Every answer is audited (``field.sync``; the intake's id when one is named, the reason code when
refused, never a field value or the submission id). The checks run in this order: shape, user,
an earlier intake of the same submission id, key, opening, age, plaintext. An envelope is
recognised as a duplicate only once it opens (a forged copy is ``tampered``), except when its
key was retired since the first upload (a retry must not look refused when it was kept).
Two uploads of the same envelope at once make one intake: the unique submission id decides,
and the loser answers ``duplicate``.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.cases import gbvims
from app.clock import utcnow
from app.crypto import hpke
from app.db import db, transaction
from app.field import keys, payload, settings
from app.field.loaders import waiting
from app.field.models import FieldIntake, IntakeStatus
from app.localtime import organisation_zone

INFO = b"amana/field-intake/v1"
VERSION = 1
MEMBERS = frozenset({"v", "kid", "sid", "uid", "did", "at", "enc", "ct"})
ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"
MALFORMED, OTHER_USER, EXPIRED = "malformed", "other_user", "expired"
UNKNOWN_KEY, TAMPERED = "unknown_key", "tampered"
REASONS = (MALFORMED, OTHER_USER, EXPIRED, UNKNOWN_KEY, TAMPERED)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DEVICE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
#: The last millisecond of 9999 (later times cannot be dates here).
_AT_MAX = 253402300799999


@dataclass(frozen=True)
class Result:
    """The answer for one envelope."""

    sid: str | None
    status: str
    reason: str = ""
    intake_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Envelope:
    """An envelope of the agreed shape (not yet opened)."""

    kid: str
    sid: str
    uid: str
    did: str
    at: int
    enc: bytes
    ct: bytes

    @property
    def aad(self) -> bytes:
        """The associated data the device bound: every field but the sealed ones."""
        return (f"{INFO.decode()}\n{self.kid}\n{self.uid}\n{self.did}\n{self.at}\n{self.sid}"
                .encode())

    @property
    def created_at(self) -> datetime:
        """When the device made it (its ``at``), UTC."""
        return datetime.fromtimestamp(self.at // 1000, UTC) + timedelta(milliseconds=self.at % 1000)


def _b64(text: Any, *, longest: int) -> bytes | None:
    """Bytes of base64url text without padding (canonical only), or None."""
    if not isinstance(text, str) or len(text) > longest or len(text) % 4 == 1 \
            or not _B64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == text else None


def sid_of(item: Any) -> str | None:
    """The envelope's submission id when it is one (echoed in the answer), else None."""
    sid = item.get("sid") if isinstance(item, dict) else None
    return sid if isinstance(sid, str) and _UUID.fullmatch(sid) else None


def shape(item: Any) -> Envelope | None:
    """The envelope when ``item`` has exactly the agreed members, each of its form, else None."""
    if not isinstance(item, dict) or set(item) != MEMBERS:
        return None
    v, at = item["v"], item["at"]
    if type(v) is not int or v != VERSION or type(at) is not int or not 0 <= at <= _AT_MAX:
        return None
    ids = [item[k] for k in ("kid", "sid", "uid")]
    if not all(isinstance(i, str) and _UUID.fullmatch(i) for i in ids):
        return None
    did = item["did"]
    if not isinstance(did, str) or not _DEVICE.fullmatch(did):
        return None
    enc = _b64(item["enc"], longest=88)
    ct = _b64(item["ct"], longest=settings.CT_MAX_CHARS)
    if enc is None or len(enc) != hpke.POINT_LENGTH or ct is None or len(ct) < 16:
        return None
    return Envelope(ids[0], ids[1], ids[2], did, at, enc, ct)


def _audit(user: User, result: Result) -> Result:
    """Record the answer (in its own transaction) and return it."""
    with transaction(keep_loaded=True):
        record(Action.FIELD_SYNC, object_type=ObjectType.FIELD_INTAKE,
               object_id=result.intake_id, actor=user,
               outcome=Outcome.DENIED if result.status == REFUSED else Outcome.ALLOWED,
               reason=result.reason if result.status == REFUSED else result.status)
    return result


def refusal(user: User, sid: str | None, reason: str) -> Result:
    """A refused envelope, audited with its reason code."""
    return _audit(user, Result(sid, REFUSED, reason))


def _existing(sid: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(intake id, its user id) of the intake kept for submission ``sid``, if any."""
    row = db.session.execute(select(FieldIntake.id, FieldIntake.user_id)
                             .where(FieldIntake.submission_id == uuid.UUID(sid))).first()
    return (row[0], row[1]) if row is not None else None


def _known(user: User, sid: str, found: tuple[uuid.UUID, uuid.UUID]) -> Result:
    """The answer for a submission id kept already: this user's, or another's."""
    if found[1] != user.id:
        return refusal(user, sid, OTHER_USER)
    return _audit(user, Result(sid, DUPLICATE, intake_id=found[0]))


def window_end(forms: Any, organisation_id: uuid.UUID) -> datetime | None:
    """End of the 72-hour clinical window when the incident is a rape (its classification
    answers say so), counted from what is known of its time in the organisation's zone."""
    incident = forms.incident
    day = incident.incident_date.data
    if day is None or gbvims.classify(incident.answers()) != gbvims.CoreType.RAPE:
        return None
    return gbvims.clinical_window_end(day, at=incident.incident_time.data,
                                      part=incident.time_of_day.data or None,
                                      zone=organisation_zone(organisation_id))


def _keep(user: User, env: Envelope, key_id: uuid.UUID, text: str) -> Result:
    """Keep the opened submission as a pending intake (one transaction, audited)."""
    try:
        fields = payload.parse(text)
    except payload.PayloadError:
        return refusal(user, env.sid, MALFORMED)
    captured = env.created_at
    forms = payload.forms_for(fields, captured, user.organisation_id)
    try:
        with transaction(keep_loaded=True):
            intake = FieldIntake(
                organisation_id=user.organisation_id, user_id=user.id,
                submission_id=uuid.UUID(env.sid), device_id=env.did, intake_key_id=key_id,
                captured_at=captured, received_at=utcnow(),
                urgent=bool(forms.urgency.urgent.data),
                window_ends_at=window_end(forms, user.organisation_id),
                status=IntakeStatus.PENDING)
            intake.payload = text
            db.session.add(intake)
            db.session.flush()
            record(Action.FIELD_SYNC, object_type=ObjectType.FIELD_INTAKE, object_id=intake.id,
                   actor=user, reason=ACCEPTED)
    except IntegrityError:
        # The same envelope kept a moment ago by another upload: the unique id decided.
        found = _existing(env.sid)
        if found is None:
            raise
        return _known(user, env.sid, found)
    return Result(env.sid, ACCEPTED, intake_id=intake.id)


def receive_one(user: User, item: Any) -> Result:
    """Check, open and keep one envelope (see the module's docstring for the order)."""
    env = shape(item)
    if env is None:
        return refusal(user, sid_of(item), MALFORMED)
    if env.uid != str(user.id):
        return refusal(user, env.sid, OTHER_USER)
    found = _existing(env.sid)
    if found is not None and found[1] != user.id:
        return refusal(user, env.sid, OTHER_USER)
    key_id = uuid.UUID(env.kid)
    private = keys.private_for(key_id, user.organisation_id)
    if private is None:
        return _known(user, env.sid, found) if found else refusal(user, env.sid, UNKNOWN_KEY)
    try:
        text = hpke.open(private, enc=env.enc, info=INFO, aad=env.aad,
                         ciphertext=env.ct).decode("utf-8")
    except hpke.HpkeError:
        return refusal(user, env.sid, TAMPERED)
    except UnicodeDecodeError:
        return refusal(user, env.sid, MALFORMED)
    if found is not None:
        return _known(user, env.sid, found)
    now, made = utcnow(), env.created_at
    if made < now - settings.max_age() or made > now + settings.FUTURE_SLACK:
        return refusal(user, env.sid, EXPIRED)
    return _keep(user, env, key_id, text)


def receive(user: User, envelopes: list[Any]) -> list[Result]:
    """Answer each envelope in order, each in its own transaction. At most
    ``settings.MAX_ENVELOPES`` (``ValueError`` otherwise: the caller refuses the request)."""
    if len(envelopes) > settings.MAX_ENVELOPES:
        raise ValueError("too many envelopes")
    return [receive_one(user, item) for item in envelopes]


def pending_count(user: User) -> int:
    """How many intakes wait for the user's review (those handed to them included, those
    handed away not): ``app.field.review.waiting``, the home panel's count."""
    return waiting(user)
