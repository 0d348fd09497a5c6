"""Confidentiality pledges: published versions per organisation, and their acceptances.

``organisation_pledges``: one row per published version (never edited: a correction is a new
version). ``pledge_acceptances``: append-only, one row per account and version accepted.
``organisations.pledge_number`` (the current version) and ``users.pledge_accepted`` (the last
version the account accepted) let the guard decide without a query of its own.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 14:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("organisations", sa.Column("pledge_number", sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("pledge_accepted", sa.Integer(), nullable=True))

    op.create_table(
        "organisation_pledges",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_ar", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_organisation_pledges_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["published_by_id"], ["users.id"],
                                name=op.f("fk_organisation_pledges_published_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_pledges")),
        sa.UniqueConstraint("organisation_id", "number",
                            name=op.f("uq_organisation_pledges_organisation_id")),
    )
    with op.batch_alter_table("organisation_pledges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisation_pledges_organisation_id"),
                              ["organisation_id"], unique=False)

    op.create_table(
        "pledge_acceptances",
        sa.Column("pledge_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["pledge_id"], ["organisation_pledges.id"],
                                name=op.f("fk_pledge_acceptances_pledge_id_organisation_pledges")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_pledge_acceptances_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_acceptances")),
        sa.UniqueConstraint("pledge_id", "user_id", name=op.f("uq_pledge_acceptances_pledge_id")),
    )
    with op.batch_alter_table("pledge_acceptances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pledge_acceptances_pledge_id"), ["pledge_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_pledge_acceptances_user_id"), ["user_id"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("pledge_acceptances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pledge_acceptances_user_id"))
        batch_op.drop_index(batch_op.f("ix_pledge_acceptances_pledge_id"))
    op.drop_table("pledge_acceptances")
    with op.batch_alter_table("organisation_pledges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_pledges_organisation_id"))
    op.drop_table("organisation_pledges")
    # Plain DROP COLUMN (as 0014, 0019): a batch rebuild of ``users`` or ``organisations``
    # would drop a table that other tables' foreign keys point at.
    op.drop_column("users", "pledge_accepted")
    op.drop_column("organisations", "pledge_number")
