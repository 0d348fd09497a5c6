"""Alembic environment: runs migrations on the app's own engine (Flask-Migrate), or as the
owner role when ``DATABASE_OWNER_URL`` is set, and then grants the runtime role exactly its
privileges (app/dbroles.py)."""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.config import ConfigError
from app.dbroles import grant_runtime, migration_engine, runtime_role
from app.dbsetup import make_sqlite_folder, unreachable

config = context.config
if config.config_file_name:
    # Keep the loggers that exist already (the app's audit and checkpoint loggers, when
    # migrations run in-process as in the tests): fileConfig would silence them.
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
INSUFFICIENT_PRIVILEGE = "42501"


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0][:160]


def run_migrations_online() -> None:
    """Migrate through the application's engine (so SQLite pragmas apply too), or the owner's."""

    def skip_empty(context_, revision, directives):  # type: ignore[no-untyped-def]
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    settings = current_app.config
    engine = migration_engine(settings, target_db.engine)
    make_sqlite_folder(engine)
    role = runtime_role(settings)
    try:
        connection = engine.connect()
    except OperationalError as exc:
        raise unreachable(exc, engine.url.render_as_string(hide_password=False)) from None
    with connection:
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            process_revision_directives=skip_empty,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if role:  # in the same transaction: new tables are never left without grants
                    grant_runtime(connection, role)
                    logger.info("Granted the runtime role %s its privileges.", role)
        except ProgrammingError as exc:  # rolled back: nothing changed
            if getattr(exc.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                raise
            raise ConfigError(
                f"The database role '{engine.url.username}' may not change the schema "
                f"({_first_line(exc)}); run migrations as the owner: set DATABASE_OWNER_URL."
            ) from None
    if engine is not target_db.engine:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run 'flask db upgrade'.")
run_migrations_online()
