"""An index on cases by site and status: a supervisor's home page reads the cases of their
sites still being worked, most of a site's cases being closed.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 06:00:00

"""
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_cases_site_status", "cases", ["site_id", "status"])


def downgrade():
    op.drop_index("ix_cases_site_status", table_name="cases")
