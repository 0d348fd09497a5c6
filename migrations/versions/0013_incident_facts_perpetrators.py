"""Incidents: the facts behind the contexts, and up to three perpetrators.

The facts (goods or money exchanged, abducted or held, harmful traditional practice and which
one) become columns, so the contexts are derived again from them on every save; an existing
incident gets the facts its stored contexts prove (a context implies its fact; no context:
not recorded, False). The single perpetrator's relationship and age group move to
``incident_perpetrators`` as perpetrator 1 (sex and occupation unknown).

On SQLite, dropping the old columns rebuilds ``incidents`` (the table is dropped and copied),
which with foreign keys on would delete the rows of a table that refers to it: the old values
are read first, the columns dropped, and only then the perpetrators' table made and filled.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:30:00

"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Frozen copies of the context codes (app/cases/gbvims.py) that prove a fact.
FACT_CONTEXTS = {
    "exchange": "possible_sexual_exploitation",
    "abducted": "possible_sexual_slavery",
    "harmful_practice": "harmful_traditional_practice",
}

incidents = sa.table(
    "incidents",
    sa.column("id", sa.Uuid()),
    sa.column("contexts", sa.String()),
    sa.column("perpetrator_relationship", sa.String()),
    sa.column("perpetrator_age_group", sa.String()),
    sa.column("exchange", sa.Boolean()),
    sa.column("abducted", sa.Boolean()),
    sa.column("harmful_practice", sa.Boolean()),
)
perpetrators = sa.table(
    "incident_perpetrators",
    sa.column("id", sa.Uuid()),
    sa.column("incident_id", sa.Uuid()),
    sa.column("position", sa.Integer()),
    sa.column("sex", sa.String()),
    sa.column("age_group", sa.String()),
    sa.column("relationship", sa.String()),
    sa.column("occupation", sa.String()),
)


def _create_perpetrators():
    op.create_table(
        "incident_perpetrators",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=12), nullable=False),
        sa.Column("age_group", sa.String(length=12), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("occupation", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE",
                                name=op.f("fk_incident_perpetrators_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_perpetrators")),
        sa.UniqueConstraint("incident_id", "position",
                            name=op.f("uq_incident_perpetrators_incident_id")),
    )
    with op.batch_alter_table("incident_perpetrators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_perpetrators_incident_id"),
                              ["incident_id"], unique=False)


def upgrade():
    conn = op.get_bind()
    old = conn.execute(sa.select(incidents.c.id, incidents.c.perpetrator_relationship,
                                 incidents.c.perpetrator_age_group)).all()
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name in FACT_CONTEXTS:
            batch_op.add_column(sa.Column(name, sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
        batch_op.add_column(sa.Column("harmful_practice_type", sa.String(length=32),
                                      nullable=True))
        batch_op.drop_column("perpetrator_relationship")
        batch_op.drop_column("perpetrator_age_group")
    for fact, context in FACT_CONTEXTS.items():
        conn.execute(incidents.update().where(incidents.c.contexts.like(f"%{context}%"))
                     .values({fact: True}))
    _create_perpetrators()
    if old:
        conn.execute(perpetrators.insert(), [
            {"id": uuid.uuid4(), "incident_id": row.id, "position": 1, "sex": "unknown",
             "age_group": row.perpetrator_age_group or "unknown",
             "relationship": row.perpetrator_relationship or "unknown",
             "occupation": "unknown"} for row in old])


def downgrade():
    conn = op.get_bind()
    first = {row.incident_id: row for row in conn.execute(
        sa.select(perpetrators.c.incident_id, perpetrators.c.relationship,
                  perpetrators.c.age_group).where(perpetrators.c.position == 1))}
    op.drop_table("incident_perpetrators")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("perpetrator_relationship", sa.String(length=32),
                                      nullable=False, server_default="unknown"))
        batch_op.add_column(sa.Column("perpetrator_age_group", sa.String(length=12),
                                      nullable=False, server_default="unknown"))
        batch_op.drop_column("harmful_practice_type")
        for name in reversed(list(FACT_CONTEXTS)):
            batch_op.drop_column(name)
    for incident_id, row in first.items():
        conn.execute(incidents.update().where(incidents.c.id == incident_id).values(
            perpetrator_relationship=row.relationship, perpetrator_age_group=row.age_group))
