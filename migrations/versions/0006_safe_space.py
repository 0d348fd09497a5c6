"""Safe spaces: activity types (with the default list seeded), session logs with attendance as
counts only and sealed notes, and the facilitators of each session.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 22:31:42.977947

"""
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = '0005'
branch_labels = None
depends_on = None

# The default activity types (app/safe_space/labels.py shows them translated while an admin
# has not renamed them). Ids are fixed (uuid5 of the code) so every installation agrees.
DEFAULT_TYPES = (
    ("life_skills", "Life skills"),
    ("psychosocial_support", "Group psychosocial support"),
    ("recreation", "Recreation"),
    ("awareness", "Awareness or information session"),
    ("skills_training", "Skills or vocational training"),
    ("literacy_numeracy", "Literacy and numeracy"),
    ("mobile_outreach", "Mobile outreach"),
    ("other", "Other"),
)


def type_id(code):
    """The fixed id of a default activity type."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://amana.invalid/activity-types/{code}")


def upgrade():
    op.create_table('activity_types',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_types')),
    sa.UniqueConstraint('code', name=op.f('uq_activity_types_code'))
    )
    op.create_table('wgss_sessions',
    sa.Column('safe_space_id', sa.Uuid(), nullable=False),
    sa.Column('activity_type_id', sa.Uuid(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('topic', sa.String(length=120), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('outreach_area', sa.String(length=80), nullable=True),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('girls_10_14', sa.Integer(), nullable=False),
    sa.Column('girls_15_19', sa.Integer(), nullable=False),
    sa.Column('women_15_19', sa.Integer(), nullable=False),
    sa.Column('women_20_24', sa.Integer(), nullable=False),
    sa.Column('women_25_49', sa.Integer(), nullable=False),
    sa.Column('women_50_plus', sa.Integer(), nullable=False),
    sa.Column('new_participants', sa.Integer(), nullable=False),
    sa.Column('returning_participants', sa.Integer(), nullable=False),
    sa.Column('with_disabilities', sa.Integer(), nullable=False),
    sa.Column('case_management_requests', sa.Integer(), nullable=False),
    sa.Column('referrals_made', sa.Integer(), nullable=False),
    sa.Column('notes_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_wgss_sessions_duration_positive')),
    sa.CheckConstraint('girls_10_14 >= 0 AND girls_15_19 >= 0 AND women_15_19 >= 0 AND women_20_24 >= 0 AND women_25_49 >= 0 AND women_50_plus >= 0 AND new_participants >= 0 AND returning_participants >= 0 AND with_disabilities >= 0 AND case_management_requests >= 0 AND referrals_made >= 0', name=op.f('ck_wgss_sessions_counts_not_negative')),
    sa.ForeignKeyConstraint(['activity_type_id'], ['activity_types.id'], name=op.f('fk_wgss_sessions_activity_type_id_activity_types')),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_wgss_sessions_data_key_id_data_keys')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_wgss_sessions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['safe_space_id'], ['safe_spaces.id'], name=op.f('fk_wgss_sessions_safe_space_id_safe_spaces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wgss_sessions'))
    )
    with op.batch_alter_table('wgss_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wgss_sessions_activity_type_id'), ['activity_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wgss_sessions_data_key_id'), ['data_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wgss_sessions_safe_space_id'), ['safe_space_id'], unique=False)
        batch_op.create_index('ix_wgss_sessions_space_held_on', ['safe_space_id', 'held_on'], unique=False)

    op.create_table('wgss_session_facilitators',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['wgss_sessions.id'], name=op.f('fk_wgss_session_facilitators_session_id_wgss_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_wgss_session_facilitators_user_id_users')),
    sa.PrimaryKeyConstraint('session_id', 'user_id', name=op.f('pk_wgss_session_facilitators'))
    )
    now = datetime.now(UTC)
    table = sa.table('activity_types', sa.column('id', sa.Uuid()), sa.column('code', sa.String()),
                     sa.column('label', sa.String()), sa.column('active', sa.Boolean()),
                     sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('updated_at', sa.DateTime(timezone=True)),
                     sa.column('version', sa.Integer()))
    op.bulk_insert(table, [{"id": type_id(code), "code": code, "label": label, "active": True,
                            "created_at": now, "updated_at": now, "version": 1}
                           for code, label in DEFAULT_TYPES])


def downgrade():
    op.drop_table('wgss_session_facilitators')
    with op.batch_alter_table('wgss_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_wgss_sessions_space_held_on')
        batch_op.drop_index(batch_op.f('ix_wgss_sessions_safe_space_id'))
        batch_op.drop_index(batch_op.f('ix_wgss_sessions_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_wgss_sessions_activity_type_id'))

    op.drop_table('wgss_sessions')
    op.drop_table('activity_types')
