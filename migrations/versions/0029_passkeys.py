"""Passkeys (WebAuthn) as a second factor.

``passkeys``: one row per registered credential (public values only: its id, its COSE public
key, the authenticator's signature counter). ``organisations.passkey_roles``: the role codes
whose accounts must use a passkey. ``auth_sessions``: a session's pending WebAuthn challenges
(to sign, to register) and until when each may be answered, and what proved the session's second factor.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 17:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("organisations", sa.Column("passkey_roles", sa.String(length=200),
                                             server_default="", nullable=False))
    op.add_column("auth_sessions", sa.Column("mfa_method", sa.String(length=16), nullable=True))
    op.add_column("auth_sessions", sa.Column("passkey_challenge", sa.LargeBinary(length=32),
                                             nullable=True))
    op.add_column("auth_sessions", sa.Column("passkey_challenge_until",
                                             sa.DateTime(timezone=True), nullable=True))
    op.add_column("auth_sessions", sa.Column("passkey_enrol_challenge", sa.LargeBinary(length=32),
                                             nullable=True))
    op.add_column("auth_sessions", sa.Column("passkey_enrol_until", sa.DateTime(timezone=True),
                                             nullable=True))
    op.create_table(
        "passkeys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.String(length=120), nullable=True),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_passkeys_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkeys_credential_id")),
    )
    with op.batch_alter_table("passkeys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_passkeys_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("passkeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passkeys_user_id"))
    op.drop_table("passkeys")
    # Plain DROP COLUMN (as 0028): a batch rebuild of ``organisations`` or ``auth_sessions``
    # would drop a table that other tables' foreign keys point at.
    op.drop_column("auth_sessions", "passkey_enrol_until")
    op.drop_column("auth_sessions", "passkey_enrol_challenge")
    op.drop_column("auth_sessions", "passkey_challenge_until")
    op.drop_column("auth_sessions", "passkey_challenge")
    op.drop_column("auth_sessions", "mfa_method")
    op.drop_column("organisations", "passkey_roles")
