"""A completed referral's outcome: whether the service was provided, and why not.

Coded (clear) so statistics can count referrals by outcome; the provider's free-text note
stays sealed on the referral's history.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 16:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("outcome_reason", sa.String(length=32), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+), not a batch rebuild of a table others point at.
    op.drop_column("referrals", "outcome_reason")
    op.drop_column("referrals", "outcome")
