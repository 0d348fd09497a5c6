"""One-time submission tokens, so a retried create does not duplicate.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:30:00

"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
