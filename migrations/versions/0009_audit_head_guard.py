"""Audit head moves only forward, in step with an inserted event.

The head row names the last event of the chain. Triggers refuse any change to it except the
writer's two statements: the no-op lock (``SET seq = seq``) and the move to a newer event that
is stored with exactly that sequence number and MAC. Deleting the head row, adding a second one
and (PostgreSQL) truncating the table are refused. Someone who can drop triggers (the table's
owner) can still rewind it; the signed checkpoints kept outside the database catch that.

PostgreSQL: the writer inserts the event and moves the head in one statement (a data-modifying
CTE), whose parts all see the snapshot taken before it; a BEFORE trigger would not see the new
event. An AFTER row trigger fires once the whole statement has run and sees its effects.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:30:00

"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MOVED = "NEW.id IS DISTINCT FROM OLD.id OR NEW.seq IS DISTINCT FROM OLD.seq " \
        "OR NEW.mac IS DISTINCT FROM OLD.mac"
FORWARD = "NEW.id = OLD.id AND NEW.seq > OLD.seq AND EXISTS " \
          "(SELECT 1 FROM audit_events e WHERE e.seq = NEW.seq AND e.mac = NEW.mac)"
REFUSED = "the audit head moves only forward, with an event"

SQLITE = [
    # The writer's lock changes nothing, so the WHEN clause lets it through without a lookup.
    f"CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
    f"WHEN ({MOVED}) AND NOT ({FORWARD}) "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END",
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
    "BEGIN SELECT RAISE(ABORT, 'the audit head cannot be deleted'); END",
    "CREATE TRIGGER audit_head_single BEFORE INSERT ON audit_head "
    "WHEN EXISTS (SELECT 1 FROM audit_head) "
    "BEGIN SELECT RAISE(ABORT, 'there is only one audit head'); END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_head_forward",
               "DROP TRIGGER IF EXISTS audit_head_no_delete",
               "DROP TRIGGER IF EXISTS audit_head_single"]

POSTGRESQL = [
    """CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.id = OLD.id AND NEW.seq > OLD.seq AND EXISTS
        (SELECT 1 FROM audit_events e WHERE e.seq = NEW.seq AND e.mac = NEW.mac) THEN
      RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit head moves only forward, with an event';
  ELSIF TG_OP = 'INSERT' THEN
    IF EXISTS (SELECT 1 FROM audit_head) THEN
      RAISE EXCEPTION 'there is only one audit head';
    END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit head cannot be deleted';
END $$""",
    # AFTER: sees the event inserted by the same statement. The WHEN clause skips the lock.
    f"CREATE TRIGGER audit_head_forward AFTER UPDATE ON audit_head FOR EACH ROW "
    f"WHEN ({MOVED}) EXECUTE FUNCTION audit_head_guard()",
    "CREATE TRIGGER audit_head_single BEFORE INSERT ON audit_head FOR EACH ROW "
    "EXECUTE FUNCTION audit_head_guard()",
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head FOR EACH ROW "
    "EXECUTE FUNCTION audit_head_guard()",
    "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head FOR EACH STATEMENT "
    "EXECUTE FUNCTION audit_head_guard()",
]
POSTGRESQL_DROP = ["DROP TRIGGER IF EXISTS audit_head_forward ON audit_head",
                   "DROP TRIGGER IF EXISTS audit_head_single ON audit_head",
                   "DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_head",
                   "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head",
                   "DROP FUNCTION IF EXISTS audit_head_guard()"]


def upgrade():
    dialect = op.get_bind().dialect.name
    for sql in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(dialect, []):
        op.execute(sql)


def downgrade():
    dialect = op.get_bind().dialect.name
    for sql in {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(dialect, []):
        op.execute(sql)
