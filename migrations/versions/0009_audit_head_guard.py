"""Audit head moves only forward, in step with an inserted event.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:30:00

"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
