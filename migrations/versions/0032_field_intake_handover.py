"""Field intakes handed over: who reviews an intake apart from who captured it.

``field_intakes.assignee_id``: the account a supervisor handed the pending intake to (NULL: the
uploader, ``user_id``, still reviews it). ``user_id`` stays the envelope's binding (the sync's
duplicate and other-account checks). An index per reviewer column serves the pending lists.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 06:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("field_intakes") as batch:
        batch.add_column(sa.Column("assignee_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(op.f("fk_field_intakes_assignee_id_users"), "users",
                                 ["assignee_id"], ["id"])
        batch.create_index(op.f("ix_field_intakes_assignee_id"), ["assignee_id"])


def downgrade():
    with op.batch_alter_table("field_intakes") as batch:
        batch.drop_index(op.f("ix_field_intakes_assignee_id"))
        batch.drop_constraint(op.f("fk_field_intakes_assignee_id_users"), type_="foreignkey")
        batch.drop_column("assignee_id")
