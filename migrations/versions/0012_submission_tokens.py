"""One-time submission tokens, so a retried create does not duplicate.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "submission_tokens",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_submission_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_submission_tokens")),
    )
    with op.batch_alter_table("submission_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_tokens_created_at"), ["created_at"],
                              unique=False)


def downgrade():
    op.drop_table("submission_tokens")
