"""Optional email: a user's opt-in and sealed address, and the queue of messages to send.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    # Added columns only (no batch rebuild of ``users``, which many tables point at). The
    # address is sealed by the app (AES-GCM under the account-secrets system key); nobody has
    # one yet, so there is nothing to seal here.
    op.add_column("users", sa.Column("email_notify", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column("users", sa.Column("email_sealed", sa.LargeBinary(), nullable=True))
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_email_outbox_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
    )
    # The runner's question: which messages are due (status, next_attempt_at).
    op.create_index("ix_email_outbox_due", "email_outbox", ["status", "next_attempt_at"])
    # At most one message per user waiting or being sent (announcements coalesce).
    op.create_index("uq_email_outbox_open_user", "email_outbox", ["user_id"], unique=True,
                    sqlite_where=sa.text("status IN ('pending', 'sending')"),
                    postgresql_where=sa.text("status IN ('pending', 'sending')"))


def downgrade():
    op.drop_table("email_outbox")
    # Plain DROP COLUMN (as 0014): a batch rebuild of ``users`` would drop a table that other
    # tables' foreign keys point at.
    op.drop_column("users", "email_sealed")
    op.drop_column("users", "email_notify")
