"""Two-admin grants: pending role grants, accounts awaiting approval, and cases that may be left
without a caseworker when theirs moves to another organisation or site.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_NOT_NULL = "primary_worker_id CHAR(32) NOT NULL,"
_NULLABLE = "primary_worker_id CHAR(32),"


def _sqlite_primary_worker_nullable(nullable: bool) -> None:
    """Drop (or restore) NOT NULL on cases.primary_worker_id in SQLite without rebuilding the
    table: a rebuild drops ``cases``, and with foreign keys on that DELETE cascades to every
    incident, note and referral. Removing a NOT NULL constraint does not change what is stored,
    so SQLite's documented schema edit (writable_schema, then a new schema version) is enough."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type='table' AND name='cases'").scalar_one()
    old, new = (_NOT_NULL, _NULLABLE) if nullable else (_NULLABLE, _NOT_NULL)
    if old not in sql:
        # Written by a different SQLAlchemy rendering: say so rather than guess.
        raise RuntimeError("cases table definition not recognised; migrate by hand")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql=? WHERE type='table' AND name='cases'",
                         (sql.replace(old, new, 1),))
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    check = bind.exec_driver_sql("PRAGMA integrity_check").scalar_one()
    if check != "ok":
        raise RuntimeError(f"integrity check failed after the schema edit: {check}")


def upgrade():
    op.create_table(
        "role_grants",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("new_account", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("site_ids", sa.JSON(), nullable=False),
        sa.Column("safe_space_ids", sa.JSON(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_role_grants_user_id_users")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_role_grants_requested_by_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_role_grants_decided_by_id_users")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_role_grants_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"],
                                name=op.f("fk_role_grants_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grants")),
    )
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_grants_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_role_grants_status"), ["status"], unique=False)
    op.add_column("users", sa.Column("approval_pending", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_primary_worker_nullable(True)
    else:
        op.alter_column("cases", "primary_worker_id", existing_type=sa.Uuid(), nullable=True)


def downgrade():
    op.execute("UPDATE cases SET primary_worker_id = secondary_worker_id "
               "WHERE primary_worker_id IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_primary_worker_nullable(False)
    else:
        op.alter_column("cases", "primary_worker_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("approval_pending")
    op.drop_table("role_grants")
