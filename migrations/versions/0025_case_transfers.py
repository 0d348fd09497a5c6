"""Case transfers between organisations, and the referral trail a sender keeps.

``case_transfers``: a request to hand a case to another organisation and its answer (at most
one pending per case). ``referral_trails``: the codes and dates of the referrals of a case
transferred away, linked to its tombstone (the referrals themselves go with the erased case).
New tables only.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 11:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

PENDING = "status = 'pending'"


def upgrade():
    op.create_table(
        "case_transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("case_number", sa.String(length=24), nullable=False),
        sa.Column("from_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("to_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("to_site_id", sa.Uuid(), nullable=True),
        sa.Column("urgency", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("new_case_id", sa.Uuid(), nullable=True),
        sa.Column("tombstone_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_transfers_case_id_cases"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["from_organisation_id"], ["organisations.id"],
                                name=op.f("fk_case_transfers_from_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["to_organisation_id"], ["organisations.id"],
                                name=op.f("fk_case_transfers_to_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["to_site_id"], ["sites.id"],
                                name=op.f("fk_case_transfers_to_site_id_sites")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_case_transfers_requested_by_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_case_transfers_decided_by_id_users")),
        sa.ForeignKeyConstraint(["new_case_id"], ["cases.id"],
                                name=op.f("fk_case_transfers_new_case_id_cases"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tombstone_id"], ["case_tombstones.id"],
                                name=op.f("fk_case_transfers_tombstone_id_case_tombstones"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transfers")),
    )
    op.create_index(op.f("ix_case_transfers_case_id"), "case_transfers", ["case_id"])
    op.create_index(op.f("ix_case_transfers_from_organisation_id"), "case_transfers",
                    ["from_organisation_id"])
    op.create_index(op.f("ix_case_transfers_to_organisation_id"), "case_transfers",
                    ["to_organisation_id"])
    op.create_index(op.f("ix_case_transfers_status"), "case_transfers", ["status"])
    op.create_index("uq_case_transfers_pending", "case_transfers", ["case_id"], unique=True,
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.create_table(
        "referral_trails",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tombstone_id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("urgency", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("outcome_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["tombstone_id"], ["case_tombstones.id"],
                                name=op.f("fk_referral_trails_tombstone_id_case_tombstones"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"],
                                name=op.f("fk_referral_trails_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_trails")),
    )
    op.create_index(op.f("ix_referral_trails_tombstone_id"), "referral_trails", ["tombstone_id"])


def downgrade():
    op.drop_table("referral_trails")
    op.drop_table("case_transfers")
