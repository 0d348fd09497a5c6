"""The Incident Recorder export as a command: a fresh second factor, then the file, audited.

The incident list leaves the system whole, so a signed-in session is not enough: the programme
manager types the current code of their authenticator app, checked as at sign-in (the time step
must be later than the last one accepted for the account, and it is claimed with a conditional
update so two requests racing with one code cannot both pass), or confirms with one of their
passkeys (checked as at step-up, ``app.auth.passkeys.step_up``). An account whose role must use
passkeys may not use a code here either: the export would otherwise be the one place a
phishable code still takes data out. A recovery code is refused here: it is for getting in
when the phone is lost, not for taking data out. Failed codes and passkeys count toward the
account's lockout like failed sign-in codes; the one that locks the account ends the session.
Every attempt is on the trail (``STATS_RECORDER_EXPORT``, with the filter); every download
raises an auditor alert (``app.audit.alerts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import mfa, passkeys, second_factor, throttle
from app.auth.models import User
from app.db import transaction
from app.reports import recorder, recorder_sheet

XLSX = "xlsx"
CSV = "csv"
FORMATS = (XLSX, CSV)


@dataclass(frozen=True)
class RecorderRequest:
    """What the manager asked for: the period, the file format, and the code they typed or
    their passkey's signed answer (``passkey``, JSON from app/static/js/passkey.js)."""

    period: recorder.Period
    file_format: str
    code: str
    passkey: str = ""


@dataclass(frozen=True)
class RecorderFile:
    """The file to send."""

    body: bytes
    mimetype: str
    filename: str
    incidents: int


class RecorderRefused(Exception):
    """Nothing was exported. ``field`` names the form field the message belongs beside;
    ``session_ended`` is set when this failure locked the account (the session is over)."""

    def __init__(self, field: str, message: Any, reason: str, session_ended: bool = False) -> None:
        super().__init__(reason)
        self.field, self.message, self.reason = field, message, reason
        self.session_ended = session_ended


NO_DATA = _l("There is no consented incident to export for this period. Nothing was exported.")


def _refuse(user: User, period: recorder.Period, message: Any, reason: str, *,
            field: str = "code", failure: bool, ended: bool = False) -> RecorderRefused:
    """Record the refusal; a failed code also counts toward the lockout (``ended``: a failure
    counted already, by the passkey check, locked the account)."""
    with transaction():
        record(Action.STATS_RECORDER_EXPORT, object_type=ObjectType.INCIDENT,
               outcome=Outcome.DENIED, reason=f"{reason};{period.audit_reason()}", actor=user)
        if failure:
            ended = second_factor.failed(user)
    return RecorderRefused(field, message, reason, ended)


def check_proof(user: User, wanted: RecorderRequest) -> None:
    """A fresh second factor for this download: the passkey's answer when one was sent, else
    the code, which an account whose role must use passkeys may not give. Raises
    ``RecorderRefused`` (recorded) when neither is accepted."""
    if wanted.passkey:
        refused = passkeys.step_up(user, wanted.passkey)  # recorded, counted toward the lockout
        if refused is not None:
            raise _refuse(user, wanted.period, refused.message, refused.reason, failure=False,
                          ended=refused.session_ended)
        return
    if not passkeys.codes_allowed(user):
        raise _refuse(user, wanted.period, passkeys.CODES_NOT_ACCEPTED, "passkey_required",
                      failure=False)
    check_code(user, wanted.period, wanted.code)


def check_code(user: User, period: recorder.Period, typed: str) -> None:
    """Accept a fresh authenticator code (claiming its time step) or raise ``RecorderRefused``
    (recorded). Nothing else is written on success: the caller records the export."""
    code = "".join(typed.split())
    if user.mfa_enrolled_at is None or user.totp_secret_sealed is None:
        raise _refuse(user, period, second_factor.NO_SECOND_FACTOR_EXPORT, "no_second_factor",
                      failure=False)
    if throttle.is_locked(user.username):
        raise _refuse(user, period, second_factor.LOCKED, "locked", failure=False)
    if len(code) != 6 or not code.isdigit():
        raise _refuse(user, period, second_factor.NOT_A_CODE, "not_a_totp_code", failure=True)
    step = mfa.matching_step(user, code)
    if step is None:
        replay = mfa.replayed(user, code)
        raise _refuse(user, period, second_factor.REPLAYED if replay else second_factor.WRONG,
                      "replayed_code" if replay else "bad_code", failure=True)
    with transaction():
        claimed = mfa.claim_step(user, step)
    if not claimed:
        raise _refuse(user, period, second_factor.REPLAYED, "replayed_code", failure=True)
    throttle.clear(user.username)


def export(user: User, wanted: RecorderRequest, *, rtl: bool = False) -> RecorderFile:
    """Check the code, build the file and record the download (which the auditor is alerted
    to). Raises ``RecorderRefused`` (recorded) when nothing is exported."""
    if wanted.file_format not in FORMATS:
        raise ValueError(f"unknown format {wanted.file_format!r}")
    check_proof(user, wanted)
    assert user.organisation_id is not None
    lines, count = recorder.table(user.organisation_id, wanted.period)
    if count == 0:
        raise _refuse(user, wanted.period, NO_DATA, "no_data", field="year", failure=False)
    if wanted.file_format == XLSX:
        body, mimetype = recorder_sheet.to_xlsx(lines, rtl=rtl), recorder_sheet.XLSX_MIMETYPE
    else:
        body, mimetype = recorder_sheet.to_csv(lines), recorder_sheet.CSV_MIMETYPE
    with transaction():
        record(Action.STATS_RECORDER_EXPORT, object_type=ObjectType.INCIDENT,
               reason=f"{wanted.period.audit_reason()};format:{wanted.file_format};"
                      f"rows:{count}", actor=user)
    return RecorderFile(body, mimetype,
                        f"incident-recorder-{wanted.period.file_part}.{wanted.file_format}",
                        count)
