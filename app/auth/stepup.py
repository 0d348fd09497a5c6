"""Step-up: a fresh second factor before a dangerous action.

Erasing a case, break-glass, sending a referral without consent, giving or changing someone's
access and resetting someone's credentials need proof that the account holder is at the keyboard
*now*. A view declares it with ``@step_up`` next to its ``@require``; the guard
(``app.auth.guard``) asks ``needed()`` after authorization, so a stranger still gets 403 first,
and a POST whose session has not proved its second factor within ``STEP_UP_MINUTES`` (5) does
nothing: the guard answers with the "Confirm it is you" page, which carries the form's fields as
hidden inputs and posts them back to the same action with the code (``CODE_FIELD``). A right
code marks the session fresh and the action runs in that same request; a wrong one shows the
page again with the error beside the field, counted toward the account's lockout.

The time of the latest second-factor proof is the session row's ``mfa_at``: set when the code is
accepted at sign-in, and again here (``second_factor_passed``, the one function any verifier
calls: ``app.auth.passkeys`` calls it too). Only the authenticator app's current code is
accepted, as for the Incident Recorder export: a recovery code is for getting in when the phone
is lost, not for the actions that hurt most if a session is taken over. A code is accepted only
for a time step later than the last one used (``mfa.matching_step``) and its step is claimed with
a conditional update (``mfa.claim_step``), so it cannot be replayed, here or at sign-in.

Every proof and every failure is an ``auth.step_up`` event (object: the endpoint). When the code
was typed for the action, the action's own events in that request end their reason with
``;step_up`` (added by the audit writer, ``mark``), and share the proof's request id. An action
run on a proof made earlier within the window carries no mark: every event of a ``@step_up``
action is under a fresh check by construction (the guard runs nothing else), so the mark says
only what is not implied, that the person was asked and answered for this very action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, overload

from flask import current_app, g, request

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import STEP_UP_MARK, record
from app.auth import mfa, second_factor, sessions, throttle
from app.auth.models import AuthSession, User
from app.clock import utcnow
from app.db import transaction

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "_amana_step_up"
CODE_FIELD = "step_up_code"  # the confirm page's field, added to the carried form
MARK = STEP_UP_MARK  # ``g`` key: what the request's audit events say about step-up
PROVED_NOW = "step_up"

#: When the rule applies, given the view's URL arguments and the posted form (a view whose
#: dangerous part is one choice of several, e.g. approving but not refusing a grant).
Condition = Callable[[Mapping[str, Any], Mapping[str, str]], bool]


@dataclass(frozen=True)
class Rule:
    """A view's step-up rule: every POST, or only those ``when`` says."""

    when: Condition | None = None


@overload
def step_up(view: F, *, when: None = None) -> F: ...


@overload
def step_up(view: None = None, *, when: Condition) -> Callable[[F], F]: ...


def step_up(view: F | None = None, *, when: Condition | None = None) -> F | Callable[[F], F]:
    """Declare that a POST to this view needs a fresh second factor (``@step_up`` or
    ``@step_up(when=...)``); the guard enforces it after the view's ``@require``."""

    def mark(fn: F) -> F:
        setattr(fn, _ATTR, Rule(when))
        return fn

    return mark(view) if view is not None else mark


def rule_of(view: Callable[..., Any] | None) -> Rule | None:
    """The step-up rule a view declared, if any."""
    return getattr(view, _ATTR, None) if view is not None else None


def window() -> timedelta:
    """How long a second-factor proof lasts for dangerous actions (``STEP_UP_MINUTES``)."""
    return timedelta(minutes=current_app.config["STEP_UP_MINUTES"])


def is_fresh(row: AuthSession) -> bool:
    """Whether the session proved its second factor within the window."""
    return row.mfa_at is not None and utcnow() - row.mfa_at <= window()


def applies(view: Callable[..., Any] | None) -> bool:
    """Whether this request is a dangerous action of ``view`` (only POSTs change anything)."""
    rule = rule_of(view)
    if rule is None or request.method != "POST":
        return False
    return rule.when is None or rule.when(request.view_args or {}, request.form)


def second_factor_passed(user: User, *, signed_in: bool = False, method: str = "totp") -> None:
    """The session has just proved its second factor (sign-in code, recovery code, enrolment,
    step-up, passkey): remember when and how (``method``: "totp", "recovery", "passkey"), and
    replace the session's token in this transaction, so a token seen before the proof never
    carries it. ``signed_in``: a step-up of a session already past sign-in, which keeps its CSRF
    token (``sessions.elevate``)."""
    row = sessions.current()
    assert row is not None
    row.mfa_at = utcnow()
    row.mfa_method = method
    sessions.elevate(keep_csrf=signed_in)
    throttle.clear(user.username)


@dataclass(frozen=True)
class Refused:
    """The code was not accepted: the message for beside the field, the audit reason, and
    whether this failure locked the account (the session is over)."""

    message: Any
    reason: str
    session_ended: bool = False


def _refuse(user: User, message: Any, reason: str, *, failure: bool) -> Refused:
    """Record the refusal; a failed code also counts toward the lockout (the failure that
    locks the account ends the session, as at sign-in)."""
    ended = False
    with transaction():
        record(Action.AUTH_STEP_UP, object_type=ObjectType.ENDPOINT, object_id=request.endpoint,
               outcome=Outcome.DENIED, reason=reason, actor=user)
        if failure:
            ended = second_factor.failed(user)
    return Refused(message, reason, ended)


def verify(user: User, typed: str) -> Refused | None:
    """Accept the authenticator app's current code for a dangerous action (None: the session
    is fresh from now, recorded) or say why not (recorded; nothing else changed)."""
    code = "".join(typed.split())
    if user.mfa_enrolled_at is None or user.totp_secret_sealed is None:
        return _refuse(user, second_factor.NO_SECOND_FACTOR, "no_second_factor",
                       failure=False)
    if throttle.is_locked(user.username):
        return _refuse(user, second_factor.LOCKED, "locked", failure=False)
    if not code:
        return _refuse(user, second_factor.EMPTY, "no_code", failure=False)
    if len(code) != 6 or not code.isdigit():
        return _refuse(user, second_factor.NOT_A_CODE, "not_a_totp_code", failure=True)
    step = mfa.matching_step(user, code)
    if step is None:
        replay = mfa.replayed(user, code)
        return _refuse(user, second_factor.REPLAYED if replay else second_factor.WRONG,
                       "replayed_code" if replay else "bad_code", failure=True)
    with transaction():
        if not mfa.claim_step(user, step):  # accepted meanwhile by another host or worker
            claimed = False
        else:
            claimed = True
            second_factor_passed(user, signed_in=True)
            record(Action.AUTH_STEP_UP, object_type=ObjectType.ENDPOINT,
                   object_id=request.endpoint, reason="totp", actor=user)
    if not claimed:
        return _refuse(user, second_factor.REPLAYED, "replayed_code", failure=True)
    g.setdefault(MARK, PROVED_NOW)
    return None


def mark() -> str | None:
    """What this request's audit events say about step-up (None outside a dangerous action)."""
    found: str | None = g.get(MARK)
    return found
