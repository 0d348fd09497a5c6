"""Writes for the audit area: each run of verification, each checkpoint and each read of the
trail by an auditor is itself recorded, in its own transaction, before any result is shown.

``read()`` and ``deny_404()`` are the one way every feature records an access: that a user is
about to be shown something (committed before the page is built), and that a record was
refused (outcome denied, committed, then answered exactly like a missing record: 404). The
scoped loaders (``load_case``, the referral, session, directory and grant loaders) call them,
so a view cannot forget.

Verification compares the trail with the checkpoint log outside the database
(``app.audit.checkpoint_log``; ``read_log``) as well as with any checkpoint given; a line of the
log that does not verify is counted in the recorded run. A checkpoint signed by hand
(``write_checkpoint``) is added to the log too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import abort, current_app

from app.audit import autocheckpoint, checkpoint_log
from app.audit.actions import Action, ObjectType, Outcome
from app.audit.chain import Progress
from app.audit.checkpoint import Checkpoint, CheckpointError, load, load_public_key, make
from app.audit.checkpoint import signing_key as _signing_key
from app.audit.checkpoint_log import LogRead
from app.audit.verify import VerifyResult, verify_chain
from app.audit.writer import record
from app.clock import utcnow
from app.db import db, transaction
from app.extensions import real_app

OUT_OF_SCOPE = "out_of_scope"


def read(action: Action, object_type: ObjectType | None = None,
         object_id: uuid.UUID | str | None = None, *, reason: str | None = None) -> None:
    """Record (and commit) that the current user is about to be shown something: a record
    (``object_id``), or a list or page of records of ``object_type``.

    The commit keeps what the request has loaded (``transaction(keep_loaded=True)``): the
    event is all it writes, so the page is built from the same reads, not read again."""
    with transaction(keep_loaded=True):
        record(action, object_type=object_type, object_id=object_id, reason=reason)


def denied(action: Action, object_type: ObjectType, object_id: uuid.UUID | str | None, *,
           reason: str = OUT_OF_SCOPE) -> None:
    """Record (and commit) a refused attempt on a record, for a caller that answers itself
    (a form shown again with the refusal beside its field)."""
    with transaction():
        record(action, object_type=object_type, object_id=object_id, outcome=Outcome.DENIED,
               reason=reason)


def deny_404(action: Action, object_type: ObjectType, object_id: uuid.UUID | str | None, *,
             reason: str = OUT_OF_SCOPE) -> NoReturn:
    """Record a refused attempt on a record and answer 404, exactly as for a record that does
    not exist (the answer never tells "not yours" from "not there"; the trail does)."""
    denied(action, object_type, object_id, reason=reason)
    abort(404)


def public_key() -> Ed25519PublicKey:
    """This instance's checkpoint-verifying key."""
    return _signing_key(current_app.config["KEY_AUDIT_SIGNING"]).public_key()


def read_checkpoints(texts: Sequence[str | bytes], public_pem: bytes | None = None,
                     *, via: str) -> list[Checkpoint]:
    """Parse and check signed checkpoints; a bad one is recorded and raises ``CheckpointError``."""
    key = load_public_key(public_pem) if public_pem else public_key()
    try:
        return [load(text, key) for text in texts]
    except CheckpointError:
        with transaction():
            record(Action.AUDIT_VERIFY, object_type=ObjectType.AUDIT_CHAIN, outcome=Outcome.ERROR,
                   reason=f"{via}:bad_checkpoint")
        raise


def read_log(public_pem: bytes | None = None, path: Path | None = None) -> LogRead:
    """Every checkpoint in this instance's log (or the log at ``path``); raises ``OSError`` when
    it exists but cannot be read, ``CheckpointError`` for an unusable public key."""
    key = load_public_key(public_pem) if public_pem else public_key()
    return checkpoint_log.read(path or autocheckpoint.log_path(), key)


def parse_log(data: bytes, path: Path, public_pem: bytes | None = None) -> LogRead:
    """The checkpoints in a copy of a log (the mirror, say) given as bytes."""
    key = load_public_key(public_pem) if public_pem else public_key()
    return checkpoint_log.parse(data, key, path)


def run_verification(checkpoints: Sequence[Checkpoint] = (), *, jobs: int = 1,
                     progress: Progress | None = None, on_start: Progress | None = None
                     ) -> VerifyResult:
    """Verify the whole trail (no recording; see ``record_verification``)."""
    return verify_chain(db.engine, current_app.config["KEY_AUDIT_HMAC"], checkpoints=checkpoints,
                        jobs=jobs, progress=progress, on_start=on_start)


def record_verification(result: VerifyResult, *, via: str, bad_lines: int = 0) -> None:
    """Append the outcome of a verification run to the trail it checked (``bad_lines``: lines
    of checkpoint logs that did not verify, which make the run an error too)."""
    reason = f"{via}:{result.code()}" + (f",bad_checkpoint_lines:{bad_lines}" if bad_lines else "")
    with transaction():
        record(Action.AUDIT_VERIFY, object_type=ObjectType.AUDIT_CHAIN, object_id=str(result.end),
               outcome=Outcome.ALLOWED if result.ok and not bad_lines else Outcome.ERROR,
               reason=reason)


@dataclass(frozen=True)
class Signed:
    """A checkpoint that was written, or the verification that refused it; ``log_error`` says
    why it could not be added to the checkpoint log, if it could not."""

    result: VerifyResult
    document: str | None
    log_error: str | None = None


def write_checkpoint(*, jobs: int = 1, progress: Progress | None = None,
                     on_start: Progress | None = None) -> Signed:
    """Verify the trail (against the checkpoint log too) and, only if it is intact, sign its
    last verified event and add the checkpoint to the log.

    Signing a broken trail would vouch for the tampering, so a broken one is refused (and the
    refusal recorded). Lines of the log that do not verify are left to ``flask audit verify``.
    """
    try:
        logged = read_log().checkpoints
    except OSError:
        logged = []
    result = run_verification(logged, jobs=jobs, progress=progress, on_start=on_start)
    if not result.ok:
        with transaction():
            record(Action.AUDIT_CHECKPOINT, object_type=ObjectType.AUDIT_CHAIN, outcome=Outcome.ERROR,
                   reason=f"cli:refused:{result.code()}")
        return Signed(result, None)
    app = real_app()
    at = utcnow()
    document = make(app.config["KEY_AUDIT_SIGNING"], result.end, result.last_mac, at,
                    heads=result.heads)
    log_error = None
    try:
        autocheckpoint.append_signed(app, list(result.heads), at)
    except OSError as exc:
        log_error = exc.strerror or exc.__class__.__name__
    with transaction():
        record(Action.AUDIT_CHECKPOINT, object_type=ObjectType.AUDIT_CHAIN, object_id=str(result.end),
               reason="cli:signed")
    return Signed(result, document, log_error)
