"""A check value for every key, so a wrong key stops start-up.

Creates ``key_checks`` and enrols the keys this instance has now (check values only; the keys
stay outside the database), as 0003 did for the key-encryption keys.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:30:00

"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('key_checks',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('check_value', sa.LargeBinary(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_key_checks'))
    )

    from app.crypto.keychecks import initial_checks
    from app.db import UTCDateTime

    rows = initial_checks(current_app)
    table = sa.table('key_checks', sa.column('name', sa.String()),
                     sa.column('check_value', sa.LargeBinary()),
                     sa.column('created_at', UTCDateTime()))
    if rows:
        op.bulk_insert(table, rows)


def downgrade():
    op.drop_table('key_checks')
