"""The case workflow: open → assessment → action plan → implementation → follow-up → closed.

Moves go one step forward (or back one step to correct a mistake); closure goes through a
request that a supervisor other than the requester approves; a closed case is read-only until
it is reopened, with a reason, into assessment.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l


class CaseStatus(StrEnum):
    """Where a case is in the workflow (the stored code is the value; never renamed)."""

    OPEN = "open"
    ASSESSMENT = "assessment"
    ACTION_PLAN = "action_plan"
    IMPLEMENTATION = "implementation"
    FOLLOW_UP = "follow_up"
    CLOSURE_REQUESTED = "closure_requested"
    CLOSED = "closed"


STATUS_LABELS: dict[str, Any] = {
    CaseStatus.OPEN: _l("Open (intake)"),
    CaseStatus.ASSESSMENT: _l("Assessment"),
    CaseStatus.ACTION_PLAN: _l("Action plan"),
    CaseStatus.IMPLEMENTATION: _l("Implementation"),
    CaseStatus.FOLLOW_UP: _l("Follow-up"),
    CaseStatus.CLOSURE_REQUESTED: _l("Closure requested"),
    CaseStatus.CLOSED: _l("Closed"),
}
FORWARD = (CaseStatus.OPEN, CaseStatus.ASSESSMENT, CaseStatus.ACTION_PLAN,
           CaseStatus.IMPLEMENTATION, CaseStatus.FOLLOW_UP)
CLOSURE_REASONS = {
    "needs_met": _l("Needs met, goals achieved"),
    "survivor_request": _l("Survivor asked to close the case"),
    "no_contact": _l("No contact for a long time"),
    "relocated": _l("Survivor moved away"),
    "transferred": _l("Transferred to another agency"),
    "deceased": _l("Survivor died"),
    "other": _l("Other"),
}
REOPEN_REASONS = {
    "new_incident": _l("New incident"),
    "new_needs": _l("New needs"),
    "closed_in_error": _l("Closed in error"),
    "other": _l("Other"),
}


class WorkflowError(ValueError):
    """A status move that the workflow does not allow (message safe to show)."""


def next_statuses(status: str) -> list[CaseStatus]:
    """Where a case in ``status`` may move with a plain status change."""
    if status not in FORWARD:
        return []
    i = FORWARD.index(status)
    moves = []
    if i + 1 < len(FORWARD):
        moves.append(FORWARD[i + 1])
    if i > 0:
        moves.append(FORWARD[i - 1])
    return moves


def check_move(current: str, target: str) -> None:
    """Raise ``WorkflowError`` unless ``current`` → ``target`` is a plain allowed move."""
    if target not in next_statuses(current):
        raise WorkflowError(str(_l("A case cannot move from %(a)s to %(b)s.",
                                   a=STATUS_LABELS.get(current, current),
                                   b=STATUS_LABELS.get(target, target))))


def beyond_intake(status: str) -> bool:
    """Whether a status is past intake (needs consent for services)."""
    return status != CaseStatus.OPEN
