"""Local time: each organisation's time zone, and the approximate time of an incident.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 16:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    # Added columns only (no batch rebuild of big tables on SQLite); existing organisations
    # take the instance's AMANA_DEFAULT_TIMEZONE, existing incidents have no known time.
    op.add_column("organisations", sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.add_column("incidents", sa.Column("incident_time", sa.Time(), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+ has it): a batch rebuild of ``organisations`` would drop
    # a table that other tables' foreign keys point at, which SQLite refuses with data in it.
    op.drop_column("incidents", "incident_time")
    op.drop_column("organisations", "time_zone")
