"""Cases: survivors (sealed identity), consent, incidents, assessment, plan, follow-ups, notes,
workflow history, break-glass grants and tombstones.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 22:12:43.697781

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_sequences',
    sa.Column('site_id', sa.Uuid(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_case_sequences_site_id_sites')),
    sa.PrimaryKeyConstraint('site_id', 'year', name=op.f('pk_case_sequences'))
    )
    op.create_table('case_tombstones',
    sa.Column('case_number', sa.String(length=24), nullable=False),
    sa.Column('erased_by_id', sa.Uuid(), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['erased_by_id'], ['users.id'], name=op.f('fk_case_tombstones_erased_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_tombstones')),
    sa.UniqueConstraint('case_number', name=op.f('uq_case_tombstones_case_number'))
    )
    op.create_table('cases',
    sa.Column('case_number', sa.String(length=24), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('site_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('risk_level', sa.String(length=12), nullable=False),
    sa.Column('primary_worker_id', sa.Uuid(), nullable=False),
    sa.Column('secondary_worker_id', sa.Uuid(), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_approved_by_id', sa.Uuid(), nullable=True),
    sa.Column('sex', sa.String(length=12), nullable=False),
    sa.Column('age_group', sa.String(length=12), nullable=False),
    sa.Column('nationality_group', sa.String(length=12), nullable=False),
    sa.Column('displacement_status', sa.String(length=20), nullable=False),
    sa.Column('disability', sa.String(length=8), nullable=False),
    sa.Column('is_child', sa.Boolean(), nullable=False),
    sa.Column('full_name_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('alias_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('date_of_birth_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('estimated_age_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('phone_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('location_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('safe_contact_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_cases_data_key_id_data_keys')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_cases_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['plan_approved_by_id'], ['users.id'], name=op.f('fk_cases_plan_approved_by_id_users')),
    sa.ForeignKeyConstraint(['primary_worker_id'], ['users.id'], name=op.f('fk_cases_primary_worker_id_users')),
    sa.ForeignKeyConstraint(['secondary_worker_id'], ['users.id'], name=op.f('fk_cases_secondary_worker_id_users')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_cases_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('case_number', name=op.f('uq_cases_case_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_closed_at'), ['closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_data_key_id'), ['data_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_opened_on'), ['opened_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_primary_worker_id'), ['primary_worker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_secondary_worker_id'), ['secondary_worker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_status'), ['status'], unique=False)

    op.create_table('action_items',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('service_type', sa.String(length=40), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('goal_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_action_items_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_action_items_data_key_id_data_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_items'))
    )
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_items_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_data_key_id'), ['data_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_due_on'), ['due_on'], unique=False)

    op.create_table('assessments',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('risk_level', sa.String(length=12), nullable=False),
    sa.Column('needs', sa.String(length=400), nullable=False),
    sa.Column('assessed_by_id', sa.Uuid(), nullable=False),
    sa.Column('notes_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('safety_plan_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assessed_by_id'], ['users.id'], name=op.f('fk_assessments_assessed_by_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_assessments_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_assessments_data_key_id_data_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('case_id', name=op.f('uq_assessments_case_id'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_data_key_id'), ['data_key_id'], unique=False)

    op.create_table('break_glass_grants',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('supervisor_id', sa.Uuid(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_break_glass_grants_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_break_glass_grants_supervisor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_break_glass_grants'))
    )
    with op.batch_alter_table('break_glass_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_break_glass_grants_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_break_glass_grants_supervisor_id'), ['supervisor_id'], unique=False)

    op.create_table('case_notes',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_case_notes_author_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_case_notes_data_key_id_data_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notes_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_notes_data_key_id'), ['data_key_id'], unique=False)

    op.create_table('case_status_changes',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=False),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('by_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason_detail_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_case_status_changes_by_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_status_changes_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_case_status_changes_data_key_id_data_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_status_changes'))
    )
    with op.batch_alter_table('case_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_status_changes_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_status_changes_data_key_id'), ['data_key_id'], unique=False)

    op.create_table('consent_records',
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('service_type', sa.String(length=40), nullable=True),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('given_by', sa.String(length=24), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('child_assent', sa.Boolean(), nullable=True),
    sa.Column('caregiver_not_asked_reason', sa.String(length=32), nullable=True),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_consent_records_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_consent_records_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records')),
    sa.UniqueConstraint('case_id', 'position', name=op.f('uq_consent_records_case_id'))
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_records_case_id'), ['case_id'], unique=False)

    op.create_table('follow_ups',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('notes_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_follow_ups_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_follow_ups_data_key_id_data_keys')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_follow_ups_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_data_key_id'), ['data_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_due_on'), ['due_on'], unique=False)

    op.create_table('incidents',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('incident_date', sa.Date(), nullable=False),
    sa.Column('date_is_approximate', sa.Boolean(), nullable=False),
    sa.Column('reported_date', sa.Date(), nullable=False),
    sa.Column('location_type', sa.String(length=24), nullable=False),
    sa.Column('answers', sa.String(length=120), nullable=False),
    sa.Column('core_type', sa.String(length=32), nullable=False),
    sa.Column('contexts', sa.String(length=200), nullable=False),
    sa.Column('perpetrator_relationship', sa.String(length=32), nullable=False),
    sa.Column('perpetrator_count', sa.String(length=12), nullable=False),
    sa.Column('perpetrator_age_group', sa.String(length=12), nullable=False),
    sa.Column('time_of_day', sa.String(length=16), nullable=False),
    sa.Column('displacement_stage', sa.String(length=20), nullable=False),
    sa.Column('report_band', sa.String(length=20), nullable=False),
    sa.Column('survivor_age_at_incident', sa.Integer(), nullable=True),
    sa.Column('urgent_clinical', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('narrative_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('perpetrator_details_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('location_detail_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_key_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_incidents_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['data_key_id'], ['data_keys.id'], name=op.f('fk_incidents_data_key_id_data_keys')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_incidents_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_core_type'), ['core_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_data_key_id'), ['data_key_id'], unique=False)



def downgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_incidents_core_type'))
        batch_op.drop_index(batch_op.f('ix_incidents_case_id'))

    op.drop_table('incidents')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_due_on'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_case_id'))

    op.drop_table('follow_ups')
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_records_case_id'))

    op.drop_table('consent_records')
    with op.batch_alter_table('case_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_status_changes_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_case_status_changes_case_id'))

    op.drop_table('case_status_changes')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_notes_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_case_notes_case_id'))

    op.drop_table('case_notes')
    with op.batch_alter_table('break_glass_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_break_glass_grants_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_break_glass_grants_case_id'))

    op.drop_table('break_glass_grants')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_data_key_id'))

    op.drop_table('assessments')
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_items_due_on'))
        batch_op.drop_index(batch_op.f('ix_action_items_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_case_id'))

    op.drop_table('action_items')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_status'))
        batch_op.drop_index(batch_op.f('ix_cases_site_id'))
        batch_op.drop_index(batch_op.f('ix_cases_secondary_worker_id'))
        batch_op.drop_index(batch_op.f('ix_cases_primary_worker_id'))
        batch_op.drop_index(batch_op.f('ix_cases_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_cases_opened_on'))
        batch_op.drop_index(batch_op.f('ix_cases_data_key_id'))
        batch_op.drop_index(batch_op.f('ix_cases_closed_at'))

    op.drop_table('cases')
    op.drop_table('case_tombstones')
    op.drop_table('case_sequences')
