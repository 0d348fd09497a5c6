"""The case list from the index alone: cases by site and status (as before), then every column
the list shows, counts and sorts by, so a supervisor's list and its count never read the case
rows themselves (wide: each holds its sealed values). Replaces ix_cases_site_status, which is
its prefix.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 11:30:00

"""
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = ["site_id", "status", "opened_on", "case_number", "id", "risk_level",
           "primary_worker_id", "organisation_id", "updated_at"]


def upgrade():
    op.create_index("ix_cases_site_list", "cases", COLUMNS)
    op.drop_index("ix_cases_site_status", table_name="cases")


def downgrade():
    op.create_index("ix_cases_site_status", "cases", ["site_id", "status"])
    op.drop_index("ix_cases_site_list", table_name="cases")
