"""Field-level encryption: KEK versions with check values, wrapped data keys, blind indexes.

Also enrols the key-encryption keys present when it runs (writes their check values), so the
keyring can verify them from the first start.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-24 22:02:35.062158

"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kek_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('check_value', sa.LargeBinary(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_kek_versions'))
    )
    op.create_table('data_keys',
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=True),
    sa.Column('kek_version', sa.Integer(), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rewrapped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['kek_version'], ['kek_versions.version'], name=op.f('fk_data_keys_kek_version_kek_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_keys')),
    sa.UniqueConstraint('label', name=op.f('uq_data_keys_label'))
    )
    with op.batch_alter_table('data_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_keys_kek_version'), ['kek_version'], unique=False)

    op.create_table('blind_index_entries',
    sa.Column('index_name', sa.String(length=40), nullable=False),
    sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('owner_table', sa.String(length=40), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_blind_index_entries_data_key_id_data_keys')),
    sa.PrimaryKeyConstraint('index_name', 'digest', 'owner_table', 'owner_id', 'field', name=op.f('pk_blind_index_entries'))
    )
    with op.batch_alter_table('blind_index_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blind_index_entries_data_key_id'), ['data_key_id'], unique=False)
        batch_op.create_index('ix_blind_index_entries_owner', ['owner_table', 'owner_id'], unique=False)

    # Enrol the KEKs this instance has now (check values only; the keys stay outside the DB).
    # One of the two imports of app code in a migration (the other is 0011; the test in
    # tests/test_migrations.py names both): the check values are made with the KEKs, which
    # only the instance's key provider holds. The rows' times are UTC (app.clock), which a
    # plain timezone-aware column stores as the app's UTC columns do (as 0006 does).
    from app.crypto.keyring import initial_enrolment

    rows = initial_enrolment(current_app)
    table = sa.table('kek_versions', sa.column('version', sa.Integer()),
                     sa.column('check_value', sa.LargeBinary()),
                     sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('retired_at', sa.DateTime(timezone=True)))
    if rows:
        op.bulk_insert(table, rows)


def downgrade():
    with op.batch_alter_table('blind_index_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_blind_index_entries_owner')
        batch_op.drop_index(batch_op.f('ix_blind_index_entries_data_key_id'))

    op.drop_table('blind_index_entries')
    with op.batch_alter_table('data_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_keys_kek_version'))

    op.drop_table('data_keys')
    op.drop_table('kek_versions')
