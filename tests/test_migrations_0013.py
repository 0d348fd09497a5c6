"""Migration 0013 moves existing incidents over sensibly: the single perpetrator becomes
perpetrator 1 (sex and occupation unknown), the facts are the ones the stored contexts prove,
and going back down puts the perpetrator's relationship and age group back on the incident."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def _migration() -> ModuleType:
    path = next(VERSIONS.glob("0013_*.py"))
    spec = importlib.util.spec_from_file_location("_migration_0013", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _incidents_0012(meta: sa.MetaData) -> sa.Table:
    """The columns of ``incidents`` at 0012 that 0013 reads or changes."""
    return sa.Table(
        "incidents", meta,
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("contexts", sa.String(200), nullable=False),
        sa.Column("perpetrator_relationship", sa.String(32), nullable=False),
        sa.Column("perpetrator_count", sa.String(12), nullable=False),
        sa.Column("perpetrator_age_group", sa.String(12), nullable=False),
    )


def _run(conn: sa.Connection, step: str) -> None:
    with Operations.context(MigrationContext.configure(conn)):
        getattr(_migration(), step)()


def test_existing_incidents_migrate_up_and_back_down(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")

    @sa.event.listens_for(engine, "connect")
    def _fk_on(dbapi_conn, _record):  # as the app runs SQLite (app/dbsetup.py)
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    partner, slavery = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        table = _incidents_0012(sa.MetaData())
        table.create(conn)
        conn.execute(table.insert(), [
            {"id": partner, "contexts": "intimate_partner_violence", "perpetrator_count": "1",
             "perpetrator_relationship": "intimate_partner", "perpetrator_age_group": "26_40"},
            {"id": slavery, "contexts": "harmful_traditional_practice,possible_sexual_slavery",
             "perpetrator_count": "2", "perpetrator_relationship": "armed_actor",
             "perpetrator_age_group": "unknown"}])
        _run(conn, "upgrade")
        rows = {r.incident_id: r for r in conn.execute(sa.text(
            "SELECT incident_id, position, sex, age_group, relationship, occupation "
            "FROM incident_perpetrators")).mappings()}
        facts = {r.id: r for r in conn.execute(sa.text(
            "SELECT id, exchange, abducted, harmful_practice, harmful_practice_type "
            "FROM incidents")).mappings()}
        columns = {c["name"] for c in sa.inspect(conn).get_columns("incidents")}

    assert {"perpetrator_relationship", "perpetrator_age_group"}.isdisjoint(columns)
    by_id = {uuid.UUID(str(k)): v for k, v in rows.items()}
    assert set(by_id) == {partner, slavery}
    assert {k: by_id[partner][k] for k in ("position", "sex", "age_group", "relationship",
                                           "occupation")} == {
        "position": 1, "sex": "unknown", "age_group": "26_40",
        "relationship": "intimate_partner", "occupation": "unknown"}
    assert by_id[slavery]["relationship"] == "armed_actor"
    facts_by_id = {uuid.UUID(str(k)): v for k, v in facts.items()}
    assert [bool(facts_by_id[partner][f]) for f in ("exchange", "abducted", "harmful_practice")] \
        == [False, False, False]
    assert [bool(facts_by_id[slavery][f]) for f in ("exchange", "abducted", "harmful_practice")] \
        == [False, True, True]
    assert facts_by_id[slavery]["harmful_practice_type"] is None  # not known: asked at the next edit

    with engine.begin() as conn:
        _run(conn, "downgrade")
        back = {uuid.UUID(str(r.id)): (r.perpetrator_relationship, r.perpetrator_age_group)
                for r in conn.execute(sa.text(
                    "SELECT id, perpetrator_relationship, perpetrator_age_group FROM incidents"))}
        assert not sa.inspect(conn).has_table("incident_perpetrators")
    assert back == {partner: ("intimate_partner", "26_40"), slavery: ("armed_actor", "unknown")}
