"""Several audit chains: each event belongs to one of up to 16 chains, each with its own head.

Writers on PostgreSQL then queue on one head each instead of all on one (``app.audit.writer``);
every event is still written in the transaction of the change it records. The existing single
chain becomes chain 0 (its head row is renumbered from 1 to 0), so a trail written before this
revision verifies unchanged. ``seq`` stays the events' global, unique order; on PostgreSQL it
now comes from the sequence ``audit_events_seq`` (taken while the chain's head is locked, so it
grows along each chain), on SQLite from the highest stored number under the write lock.

The head guard of revision 0009 is recreated so that a head moves only to an event of its own
chain, and no head row can be added by anyone but a migration.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 08:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

CHAINS = 16  # head rows 0..15; AMANA_AUDIT_CHAINS chooses how many the writers use
GENESIS = b"\x00" * 32

MOVED = "NEW.id IS DISTINCT FROM OLD.id OR NEW.seq IS DISTINCT FROM OLD.seq " \
        "OR NEW.mac IS DISTINCT FROM OLD.mac"
FORWARD = "NEW.id = OLD.id AND NEW.seq > OLD.seq AND EXISTS (SELECT 1 FROM audit_events e " \
          "WHERE e.seq = NEW.seq AND e.mac = NEW.mac AND e.chain = NEW.id)"
OLD_FORWARD = "NEW.id = OLD.id AND NEW.seq > OLD.seq AND EXISTS " \
              "(SELECT 1 FROM audit_events e WHERE e.seq = NEW.seq AND e.mac = NEW.mac)"
REFUSED = "the audit head moves only forward, with an event"


def _sqlite(forward: str, insert_when: str, insert_message: str) -> list[str]:
    return [
        f"CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
        f"WHEN ({MOVED}) AND NOT ({forward}) "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END",
        "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
        "BEGIN SELECT RAISE(ABORT, 'the audit head cannot be deleted'); END",
        f"CREATE TRIGGER audit_head_single BEFORE INSERT ON audit_head WHEN {insert_when} "
        f"BEGIN SELECT RAISE(ABORT, '{insert_message}'); END",
    ]


def _postgresql(forward: str, insert_check: str, insert_message: str) -> list[str]:
    return [
        f"""CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF {forward} THEN
      RETURN NULL;
    END IF;
    RAISE EXCEPTION '{REFUSED}';
  ELSIF TG_OP = 'INSERT' THEN
    IF {insert_check} THEN
      RAISE EXCEPTION '{insert_message}';
    END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit head cannot be deleted';
END $$""",
        f"CREATE TRIGGER audit_head_forward AFTER UPDATE ON audit_head FOR EACH ROW "
        f"WHEN ({MOVED}) EXECUTE FUNCTION audit_head_guard()",
        "CREATE TRIGGER audit_head_single BEFORE INSERT ON audit_head FOR EACH ROW "
        "EXECUTE FUNCTION audit_head_guard()",
        "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head FOR EACH ROW "
        "EXECUTE FUNCTION audit_head_guard()",
        "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head FOR EACH STATEMENT "
        "EXECUTE FUNCTION audit_head_guard()",
    ]


DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_head_forward",
               "DROP TRIGGER IF EXISTS audit_head_no_delete",
               "DROP TRIGGER IF EXISTS audit_head_single"],
    "postgresql": ["DROP TRIGGER IF EXISTS audit_head_forward ON audit_head",
                   "DROP TRIGGER IF EXISTS audit_head_single ON audit_head",
                   "DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_head",
                   "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head",
                   "DROP FUNCTION IF EXISTS audit_head_guard()"],
}
NO_INSERT = "the audit heads are made by the migrations"


def upgrade():
    dialect = op.get_bind().dialect.name
    for sql in DROP.get(dialect, []):
        op.execute(sql)
    op.add_column("audit_events", sa.Column("chain", sa.SmallInteger(), nullable=False,
                                            server_default=sa.text("0")))
    op.create_index("ix_audit_events_chain_seq", "audit_events", ["chain", "seq"])
    op.execute("UPDATE audit_head SET id = 0 WHERE id = 1")
    insert = sa.text("INSERT INTO audit_head (id, seq, mac) VALUES (:id, 0, :mac)").bindparams(
        sa.bindparam("mac", GENESIS, type_=sa.LargeBinary))
    for chain in range(1, CHAINS):
        op.execute(insert.bindparams(id=chain))
    if dialect == "postgresql":
        op.execute("CREATE SEQUENCE audit_events_seq AS bigint OWNED BY audit_events.seq")
        op.execute("SELECT setval('audit_events_seq', "
                   "COALESCE((SELECT max(seq) FROM audit_events), 0) + 1, false)")
        for sql in _postgresql(FORWARD, "TRUE", NO_INSERT):
            op.execute(sql)
    elif dialect == "sqlite":
        for sql in _sqlite(FORWARD, "1", NO_INSERT):
            op.execute(sql)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":  # DDL first: a role that may not change the schema is told so
        for sql in DROP[dialect]:
            op.execute(sql)
    other = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM audit_events WHERE chain <> 0")).scalar()
    if other:  # rolled back on PostgreSQL; nothing changed yet on SQLite
        raise RuntimeError("events are stored on more than one audit chain: they cannot be "
                           "put back in one chain")
    if dialect == "sqlite":
        for sql in DROP[dialect]:
            op.execute(sql)
    op.execute(f"DELETE FROM audit_head WHERE id BETWEEN 1 AND {CHAINS - 1}")
    op.execute("UPDATE audit_head SET id = 1 WHERE id = 0")
    op.drop_index("ix_audit_events_chain_seq", table_name="audit_events")
    op.execute("ALTER TABLE audit_events DROP COLUMN chain")
    if dialect == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS audit_events_seq")
        for sql in _postgresql(OLD_FORWARD, "EXISTS (SELECT 1 FROM audit_head)",
                               "there is only one audit head"):
            op.execute(sql)
    elif dialect == "sqlite":
        for sql in _sqlite(OLD_FORWARD, "EXISTS (SELECT 1 FROM audit_head)",
                           "there is only one audit head"):
            op.execute(sql)
