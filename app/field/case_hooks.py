"""What field capture does when a case goes: a field intake that became (or joined) the case is
detached from it, never deleted.

An erased case (or the sender's case after a transfer, erased once its copy exists) must not be
held back by the intake that points at it, and the intake must stay: its submission id is what
makes a replayed envelope answer ``duplicate`` instead of being kept again, which would bring
back what was erased. Its submission was shredded when it was decided (``app.field.review``);
what is left is who uploaded it, from which device and when.
"""

from __future__ import annotations

from sqlalchemy import update

from app.cases.models import Case
from app.core import hooks
from app.db import db
from app.field.models import FieldIntake


@hooks.case_erased.subscribe
def detach(case: Case) -> None:
    """Take the case off its field intakes (the erasing transaction). A plain update: the
    intake's version and sealed values are untouched (nothing of the survivor changes)."""
    db.session.execute(update(FieldIntake).where(FieldIntake.case_id == case.id)
                       .values(case_id=None).execution_options(synchronize_session=False))
