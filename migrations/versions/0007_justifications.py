"""Justifications as a reason code plus sealed text: break-glass grants get a reason code, a
sealed explanation and the case's data key; referrals get the override's reason code and their
history steps a sealed explanation.

Existing rows: no free-text justification was ever stored on a grant or a referral (it went
only into the audit trail, whose events are immutable and stay as they are), so there is
nothing to seal here, and a migration holds no keys to seal with anyway. Existing grants and
referrals sent under an override get the code "other" and no text.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # Added nullable (or with a default) first, so SQLite can add them without a rebuild...
    with op.batch_alter_table('break_glass_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=32), nullable=False,
                                      server_default='other'))
        batch_op.add_column(sa.Column('justification_sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('data_key_id', sa.Uuid(), nullable=True))
    # ...then each grant takes its case's data key (the key its explanation is sealed under).
    op.execute("UPDATE break_glass_grants SET data_key_id = (SELECT cases.data_key_id FROM cases "
               "WHERE cases.id = break_glass_grants.case_id)")
    # A rebuild on SQLite: safe, no table refers to break_glass_grants.
    with op.batch_alter_table('break_glass_grants', schema=None) as batch_op:
        batch_op.alter_column('data_key_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column('reason_code', existing_type=sa.String(length=32),
                              server_default=None)
        batch_op.create_index(batch_op.f('ix_break_glass_grants_data_key_id'), ['data_key_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_break_glass_grants_data_key_id_data_keys'),
                                    'data_keys', ['data_key_id'], ['id'])

    # Plain ADD COLUMNs (no rebuild of referrals: a rebuild would cascade to their history).
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('override_code', sa.String(length=32), nullable=True))
    referrals = sa.table('referrals', sa.column('override_code', sa.String),
                         sa.column('consent_override', sa.Boolean))
    op.execute(referrals.update().where(referrals.c.consent_override.is_(True))
               .values(override_code='other'))
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('justification_sealed', sa.LargeBinary(), nullable=True))


def downgrade():
    # Native DROP COLUMN (SQLite 3.35+): rebuilding referrals would cascade to their history.
    op.execute("ALTER TABLE referral_events DROP COLUMN justification_sealed")
    op.execute("ALTER TABLE referrals DROP COLUMN override_code")
    with op.batch_alter_table('break_glass_grants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_break_glass_grants_data_key_id_data_keys'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_break_glass_grants_data_key_id'))
        batch_op.drop_column('data_key_id')
        batch_op.drop_column('justification_sealed')
        batch_op.drop_column('reason_code')
