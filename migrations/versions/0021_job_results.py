"""Job results: the last completed run of each periodic job (app/jobs.py), one row per job;
the auditor's home page reads the alert counts the alerts timer left here.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 08:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_results",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_results")),
    )


def downgrade():
    op.drop_table("job_results")
