"""What every second-factor check shares: the refusal messages and what a failure does.

Three places check a second factor after sign-in has begun: the sign-in step itself
(``app.auth.service``), the step-up before a dangerous action (``app.auth.stepup``) and the
Incident Recorder export (``app.reports.recorder_export``); passkeys (``app.auth.passkeys``)
fail the same way. Each records its own event first (what was refused, with its reason), then
calls ``failed``: the failure counts toward the account's lockout like a wrong password, and
the failure that locks the account records the lockout and ends the session, everywhere alike.
The messages shown beside the field live here once, so a wording is translated once.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import sessions, throttle
from app.auth.models import User
from app.observability.metrics import LOCKOUTS, LOGIN_FAILURES

NO_SECOND_FACTOR = _l("Your account has no authenticator app set up, so this action cannot be "
                      "confirmed. Set up two-step verification first.")
NO_SECOND_FACTOR_EXPORT = _l("Your account has no authenticator app set up, so this export "
                             "cannot be confirmed. Set up two-step verification first.")
LOCKED = _l("Too many wrong codes: try again later.")
EMPTY = _l("Type the six-digit code your authenticator app shows now.")
NOT_A_CODE = _l("Type the six-digit code your authenticator app shows now. A recovery code is "
                "not accepted here.")
REPLAYED = _l("This code has already been used. Wait for the next code in your app and type "
              "that one.")
WRONG = _l("This code is not right. Type the six-digit code your authenticator app shows now.")


def failed(user: User) -> bool:
    """A second factor (a code or a passkey) failed for ``user``: count it toward the lockout.
    Returns True when this failure locked the account; the lockout is then recorded and the
    current session ended. Call it inside the transaction that records the refusal."""
    LOGIN_FAILURES.labels(step="code").inc()
    if not throttle.register_failure(user.username):
        return False
    record(Action.AUTH_LOCKOUT, object_type=ObjectType.USER, object_id=user.id,
           outcome=Outcome.DENIED, reason="too_many_code_failures", actor=user)
    LOCKOUTS.labels(step="code").inc()
    sessions.end_current("mfa_lockout")
    return True
