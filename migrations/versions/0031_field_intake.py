"""Field capture: intake keys, pending field intakes and a case's field capture time.

``intake_keys``: an organisation's P-256 intake key pairs (public point clear, private scalar
sealed under the key's own data key). ``field_intakes``: synced envelopes opened and waiting
for search before create (the submission sealed; urgency and the 72-hour window clear for
sorting; ``submission_id`` unique so an envelope sent twice makes one intake).
``cases.field_captured_at``: when a case's first contact was captured offline.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 22:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "intake_keys",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=65), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_intake_keys_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"],
                                name=op.f("fk_intake_keys_data_key_id_data_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_keys")),
    )
    op.create_index(op.f("ix_intake_keys_organisation_id"), "intake_keys", ["organisation_id"])
    op.create_index(op.f("ix_intake_keys_data_key_id"), "intake_keys", ["data_key_id"])
    op.create_table(
        "field_intakes",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("intake_key_id", sa.Uuid(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Uuid(), nullable=False),
        sa.Column("payload_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_field_intakes_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_field_intakes_user_id_users")),
        sa.ForeignKeyConstraint(["intake_key_id"], ["intake_keys.id"],
                                name=op.f("fk_field_intakes_intake_key_id_intake_keys")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_field_intakes_case_id_cases")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_field_intakes_decided_by_id_users")),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"],
                                name=op.f("fk_field_intakes_data_key_id_data_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_intakes")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_field_intakes_submission_id")),
    )
    op.create_index(op.f("ix_field_intakes_organisation_id"), "field_intakes",
                    ["organisation_id"])
    op.create_index(op.f("ix_field_intakes_intake_key_id"), "field_intakes", ["intake_key_id"])
    op.create_index(op.f("ix_field_intakes_case_id"), "field_intakes", ["case_id"])
    op.create_index(op.f("ix_field_intakes_data_key_id"), "field_intakes", ["data_key_id"])
    op.create_index("ix_field_intakes_pending", "field_intakes",
                    ["user_id", "status", "urgent", "window_ends_at", "captured_at"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("field_captured_at", sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade():
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("field_captured_at")
    op.drop_index("ix_field_intakes_pending", table_name="field_intakes")
    op.drop_table("field_intakes")
    op.drop_table("intake_keys")
