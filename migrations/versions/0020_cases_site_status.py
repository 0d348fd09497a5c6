"""Indexes for the home pages: cases by site and status (a supervisor reads the cases of their
sites still being worked, most of a site's cases being closed), and the follow-ups and goals
still to do by due date (overdue counts).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 06:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


OPEN_GOALS = "status IN ('planned', 'in_progress')"
NOT_DONE = "done_on IS NULL"


def upgrade():
    op.create_index("ix_cases_site_status", "cases", ["site_id", "status"])
    # what is still to do, by due date: the overdue counts read only these
    op.create_index("ix_follow_ups_open_due", "follow_ups", ["due_on"],
                    sqlite_where=sa.text(NOT_DONE), postgresql_where=sa.text(NOT_DONE))
    op.create_index("ix_action_items_open_due", "action_items", ["due_on"],
                    sqlite_where=sa.text(OPEN_GOALS), postgresql_where=sa.text(OPEN_GOALS))


def downgrade():
    op.drop_index("ix_action_items_open_due", table_name="action_items")
    op.drop_index("ix_follow_ups_open_due", table_name="follow_ups")
    op.drop_index("ix_cases_site_status", table_name="cases")
