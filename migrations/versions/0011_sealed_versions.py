"""Sealed values bound to their record's version.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:30:00

"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
