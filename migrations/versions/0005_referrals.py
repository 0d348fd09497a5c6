"""Referrals: sealed shares under their own keys, their history, and the fields a sharing
consent allows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 22:25:21.377800

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('referrals',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('service_type', sa.String(length=40), nullable=False),
    sa.Column('urgency', sa.String(length=12), nullable=False),
    sa.Column('urgent_clinical', sa.Boolean(), nullable=False),
    sa.Column('clinical_deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('shared_fields', sa.String(length=300), nullable=False),
    sa.Column('consent_override', sa.Boolean(), nullable=False),
    sa.Column('sent_by_id', sa.Uuid(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('respond_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('share_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('message_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referrals_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_referrals_data_key_id_data_keys')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_referrals_sent_by_id_users')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_referrals_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_data_key_id'), ['data_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_respond_by'), ['respond_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_status'), ['status'], unique=False)

    op.create_table('referral_events',
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('by_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_referral_events_by_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referral_events_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_referral_events_data_key_id_data_keys')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_events_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_events'))
    )
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_events_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_events_data_key_id'), ['data_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_events_referral_id'), ['referral_id'], unique=False)

    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_fields', sa.String(length=300), nullable=False, server_default=''))



def downgrade():
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_column('share_fields')

    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_events_referral_id'))
        batch_op.drop_index(batch_op.f('ix_referral_events_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_referral_events_case_id'))

    op.drop_table('referral_events')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_status'))
        batch_op.drop_index(batch_op.f('ix_referrals_service_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_respond_by'))
        batch_op.drop_index(batch_op.f('ix_referrals_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))

    op.drop_table('referrals')
