"""Statistics change stamps: one row per organisation, rewritten when its counted records
change, so the protected statistics are counted again only when something changed.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 23:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "statistics_stamps",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("changed", sa.Uuid(), nullable=False),
        sa.Column("removed", sa.Uuid(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_statistics_stamps_organisation_id_organisations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_statistics_stamps")),
    )


def downgrade():
    op.drop_table("statistics_stamps")
