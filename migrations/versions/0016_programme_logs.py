"""Programme activity logs: community awareness sessions and staff trainings, counts only.

Two tables of codes, dates and counts (no name, no free text, nothing sealed): people reached
by sex and age band, people trained by sex and organisation (own or partner).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 19:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Frozen copies of the cells (app/programme/models.py).
SEXES = ("female", "male")
AWARENESS_CELLS = tuple(f"{s}_{b}" for s in SEXES
                        for b in ("10_14", "15_19", "20_24", "25_49", "50_plus"))
TRAINING_CELLS = tuple(f"{s}_{k}" for s in SEXES for k in ("own", "partner"))


def _log_table(name, cells):
    op.create_table(
        name,
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in cells],
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(" AND ".join(f"{c} >= 0" for c in cells),
                           name=op.f(f"ck_{name}_counts_not_negative")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f(f"fk_{name}_recorded_by_id_users")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f(f"fk_{name}_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(f"ix_{name}_site_held_on", name, ["site_id", "held_on"], unique=False)


def upgrade():
    _log_table("awareness_sessions", AWARENESS_CELLS)
    _log_table("staff_trainings", TRAINING_CELLS)


def downgrade():
    for name in ("staff_trainings", "awareness_sessions"):
        op.drop_index(f"ix_{name}_site_held_on", table_name=name)
        op.drop_table(name)
