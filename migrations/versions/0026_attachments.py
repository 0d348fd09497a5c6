"""Attachments: a case's files (sealed under the case's key, their bytes on a row of their
own) and the copies shared with referrals (sealed under the referral's key).

New tables only; nothing to re-seal. Every row goes with its case or referral (ON DELETE
CASCADE), and erasing a case or revoking a referral destroys the key its rows are sealed under.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 11:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_attachments",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_type", sa.String(length=8), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=False),
        sa.Column("original_name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("description_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_attachments_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"],
                                name=op.f("fk_case_attachments_data_key_id_data_keys")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name=op.f("fk_case_attachments_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    op.create_index(op.f("ix_case_attachments_case_id"), "case_attachments", ["case_id"])
    op.create_index(op.f("ix_case_attachments_data_key_id"), "case_attachments", ["data_key_id"])
    op.create_table(
        "case_attachment_contents",
        sa.Column("attachment_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["attachment_id"], ["case_attachments.id"],
                                name=op.f("fk_case_attachment_contents_attachment_id_case_attachments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"],
                                name=op.f("fk_case_attachment_contents_data_key_id_data_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachment_contents")),
        sa.UniqueConstraint("attachment_id", name=op.f("uq_case_attachment_contents_attachment_id")),
    )
    op.create_index(op.f("ix_case_attachment_contents_data_key_id"), "case_attachment_contents",
                    ["data_key_id"])
    op.create_table(
        "referral_attachments",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("attachment_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_type", sa.String(length=8), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("shared_by_id", sa.Uuid(), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["case_attachments.id"],
                                name=op.f("fk_referral_attachments_attachment_id_case_attachments"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"],
                                name=op.f("fk_referral_attachments_data_key_id_data_keys")),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"],
                                name=op.f("fk_referral_attachments_referral_id_referrals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shared_by_id"], ["users.id"],
                                name=op.f("fk_referral_attachments_shared_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_attachments")),
    )
    op.create_index(op.f("ix_referral_attachments_referral_id"), "referral_attachments",
                    ["referral_id"])
    op.create_index(op.f("ix_referral_attachments_attachment_id"), "referral_attachments",
                    ["attachment_id"])
    op.create_index(op.f("ix_referral_attachments_data_key_id"), "referral_attachments",
                    ["data_key_id"])


def downgrade():
    op.drop_table("referral_attachments")
    op.drop_table("case_attachment_contents")
    op.drop_table("case_attachments")
