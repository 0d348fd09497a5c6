"""Translated labels: the default activity types (seeded by migration 0006) and kinds.

Admins may rename a type; while a default type keeps its seeded English label, it is shown in
the user's language, and once renamed it is shown as the admin wrote it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.safe_space.models import ActivityType, DefaultActivity

# code, seeded English label, translated label (keep in step with migrations/versions/0006).
DEFAULT_TYPES = (
    (DefaultActivity.LIFE_SKILLS, "Life skills", _l("Life skills")),
    (DefaultActivity.PSYCHOSOCIAL_SUPPORT, "Group psychosocial support",
     _l("Group psychosocial support")),
    (DefaultActivity.RECREATION, "Recreation", _l("Recreation")),
    (DefaultActivity.AWARENESS, "Awareness or information session",
     _l("Awareness or information session")),
    (DefaultActivity.SKILLS_TRAINING, "Skills or vocational training",
     _l("Skills or vocational training")),
    (DefaultActivity.LITERACY_NUMERACY, "Literacy and numeracy", _l("Literacy and numeracy")),
    (DefaultActivity.MOBILE_OUTREACH, "Mobile outreach", _l("Mobile outreach")),
    (DefaultActivity.OTHER, "Other", _l("Other")),
)
_SEEDED: dict[str, tuple[str, Any]] = {
    code: (english, translated) for code, english, translated in DEFAULT_TYPES}
KIND_LABELS = {"static": _l("Static"), "mobile": _l("Mobile")}


def type_label(activity_type: ActivityType) -> str:
    """The label to show for an activity type in the current language."""
    seeded = _SEEDED.get(activity_type.code)
    if seeded is not None and activity_type.label == seeded[0]:
        return str(seeded[1])
    return activity_type.label


def kind_label(kind: str) -> str:
    """Static or mobile, translated."""
    return str(KIND_LABELS.get(kind, kind))
