"""Change history: one row per saved change of a record of a case (app/cases/history.py): the
changed fields' codes, who and when in clear, the previous values sealed under the case's data
key (so they are erased with the case). Nothing to fill for existing cases: their history
starts with their next change.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 11:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_changes",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("record_table", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("by_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fields", sa.String(length=1000), nullable=False),
        sa.Column("previous_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_changes_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_case_changes_by_id_users")),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"],
                                name=op.f("fk_case_changes_data_key_id_data_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_changes")),
    )
    op.create_index("ix_case_changes_case_at", "case_changes", ["case_id", "at", "id"])
    op.create_index(op.f("ix_case_changes_data_key_id"), "case_changes", ["data_key_id"])


def downgrade():
    op.drop_index(op.f("ix_case_changes_data_key_id"), table_name="case_changes")
    op.drop_index("ix_case_changes_case_at", table_name="case_changes")
    op.drop_table("case_changes")
