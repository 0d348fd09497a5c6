"""Imports every model module so that the metadata (and Alembic) sees every table."""

from app.attachments import models as attachment_models  # noqa: F401  (registers its tables)
from app.audit import models as audit_models
from app.auth import models as auth_models
from app.auth import oidc_models  # noqa: F401  (single sign-on tables)
from app.cases import history  # noqa: F401  (the change history's table and session hooks)
from app.cases import models as case_models
from app.crypto import models as crypto_models
from app.directory import models as directory_models
from app.field import models as field_models  # noqa: F401  (intake keys, field intakes)
from app.jobs import JobResult  # noqa: F401  (the periodic jobs' results)
from app.notifications import models as notification_models  # noqa: F401  (its table)
from app.programme import models as programme_models  # noqa: F401  (registers its tables)
from app.referrals import models as referral_models
from app.reports import freshness  # noqa: F401  (the statistics stamps' session hooks)
from app.reports import models as report_models  # noqa: F401  (registers its table)
from app.safe_space import models as safe_space_models  # noqa: F401  (registers its tables)
from app.submissions import models as submission_models  # noqa: F401  (registers its table)

__all__ = ["directory_models", "audit_models", "auth_models", "case_models", "crypto_models",
           "referral_models"]
