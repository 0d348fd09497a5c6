"""Single sign-on (OpenID Connect): accounts' subjects at the provider, sign-ins under way, and
each organisation's settings.

``oidc_identities``: an account's (issuer, subject), unique both ways, and when a second
admin approved it (accounts with case data). ``oidc_requests``: one
row per sign-in sent to the provider (digests of its state, browser binding and nonce), used
once. ``organisation_sso``: SSO on or off and whether the provider's second factor is trusted.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 17:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oidc_identities",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by_id", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"],
                                name=op.f("fk_oidc_identities_approved_by_id_users")),
        sa.ForeignKeyConstraint(["linked_by_id"], ["users.id"],
                                name=op.f("fk_oidc_identities_linked_by_id_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_oidc_identities_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_oidc_identities_issuer")),
        sa.UniqueConstraint("user_id", name=op.f("uq_oidc_identities_user_id")),
    )
    op.create_table(
        "oidc_requests",
        sa.Column("state_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("binding_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("nonce_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_requests")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oidc_requests_state_hash")),
    )
    with op.batch_alter_table("oidc_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_requests_created_at"), ["created_at"],
                              unique=False)
    op.create_table(
        "organisation_sso",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trust_mfa", sa.Boolean(), nullable=False),
        sa.Column("mfa_amr", sa.String(length=200), nullable=False),
        sa.Column("mfa_acr", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_organisation_sso_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_organisation_sso")),
    )


def downgrade():
    op.drop_table("organisation_sso")
    with op.batch_alter_table("oidc_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_requests_created_at"))
    op.drop_table("oidc_requests")
    op.drop_table("oidc_identities")
