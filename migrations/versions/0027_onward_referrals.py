"""Onward referrals and the services a provider records on a referral.

``referrals.parent_id``: a referral made by the service that received another (the parent), its
share cut from the parent's. ``referral_service_records``: the services given on a referral, by
the receiving service (date, a service code, notes sealed under the referral's data key).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 11:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_referrals_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_referrals_parent_id_referrals"), "referrals",
                                    ["parent_id"], ["id"], ondelete="CASCADE")

    op.create_table(
        "referral_service_records",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("service_code", sa.String(length=40), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notes_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("data_key_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"],
                                name=op.f("fk_referral_service_records_data_key_id_data_keys")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f("fk_referral_service_records_recorded_by_id_users")),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"],
                                name=op.f("fk_referral_service_records_referral_id_referrals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"],
                                name=op.f("fk_referral_service_records_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_service_records")),
    )
    with op.batch_alter_table("referral_service_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_service_records_data_key_id"),
                              ["data_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referral_service_records_referral_id"),
                              ["referral_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referral_service_records_service_id"),
                              ["service_id"], unique=False)


def downgrade():
    with op.batch_alter_table("referral_service_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_service_records_service_id"))
        batch_op.drop_index(batch_op.f("ix_referral_service_records_referral_id"))
        batch_op.drop_index(batch_op.f("ix_referral_service_records_data_key_id"))
    op.drop_table("referral_service_records")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_referrals_parent_id_referrals"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_referrals_parent_id"))
        batch_op.drop_column("parent_id")
